import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type Visibility = 'private' | 'internal' | 'public';

@Entity({ name: 'groups' })
export class Group {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar' })
  name: string;

  @Column({ type: 'varchar' })
  path: string;

  @Column({ name: 'full_path', type: 'varchar', unique: true })
  fullPath: string;

  @Column({ name: 'full_name', type: 'varchar' })
  fullName: string;

  @Column({ name: 'parent_id', type: 'integer', nullable: true })
  parentId: number | null;

  @Column({ type: 'varchar', default: 'private' })
  visibility: Visibility;

  @Column({ type: 'varchar', default: '' })
  description: string;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;
}
