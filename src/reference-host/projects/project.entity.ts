import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Visibility } from '../groups/group.entity';

/** A project in a group, or in a user's personal namespace (`groupId` null, `ownerId` set). */
@Entity({ name: 'projects' })
export class Project {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar' })
  name: string;

  @Column({ type: 'varchar' })
  path: string;

  @Column({ name: 'full_path', type: 'varchar', unique: true })
  fullPath: string;

  @Column({ name: 'group_id', type: 'integer', nullable: true })
  groupId: number | null;

  @Column({ name: 'owner_id', type: 'integer', nullable: true })
  ownerId: number | null;

  @Column({ name: 'creator_id', type: 'integer' })
  creatorId: number;

  @Column({ type: 'varchar', default: 'private' })
  visibility: Visibility;

  @Column({ type: 'varchar', default: '' })
  description: string;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;
}
