import { GroupMember } from './groups/group-member.entity';
import { Group } from './groups/group.entity';
import { Project } from './projects/project.entity';
import { PersonalAccessToken } from './users/personal-access-token.entity';
import { User } from './users/user.entity';
import { ReferenceHost1764000000001 } from '../../migrations/reference-host/1764000000001-ReferenceHost';

export const REFERENCE_HOST_ENTITIES = [User, PersonalAccessToken, Group, GroupMember, Project];
export const REFERENCE_HOST_MIGRATIONS = [ReferenceHost1764000000001];
