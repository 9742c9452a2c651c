import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** A direct membership; effective access is the highest over the group and its ancestors. */
@Entity({ name: 'group_members' })
@Unique('uq_group_members', ['groupId', 'userId'])
export class GroupMember {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'group_id', type: 'integer' })
  groupId: number;

  @Column({ name: 'user_id', type: 'integer' })
  userId: number;

  @Column({ name: 'access_level', type: 'integer' })
  accessLevel: number;

  @Column({ name: 'expires_at', type: 'varchar', length: 10, nullable: true })
  expiresAt: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;
}
