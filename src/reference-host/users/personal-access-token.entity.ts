import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { User } from './user.entity';

/** A personal access token. Only its SHA-256 digest is stored; the token is shown once. */
@Entity({ name: 'personal_access_tokens' })
export class PersonalAccessToken {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id', type: 'integer' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: User;

  @Column({ type: 'varchar' })
  name: string;

  @Column({ name: 'token_digest', type: 'varchar', unique: true })
  tokenDigest: string;

  @Column({ type: 'simple-json' })
  scopes: string[];

  @Column({ type: 'boolean', default: false })
  revoked: boolean;

  /** `YYYY-MM-DD`, as GitLab's API takes and returns it. */
  @Column({ name: 'expires_at', type: 'varchar', length: 10, nullable: true })
  expiresAt: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;
}
