import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { EntityManager, Repository } from 'typeorm';
import { PersonalAccessToken } from '../users/personal-access-token.entity';
import { User } from '../users/user.entity';

export function digestToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new token in GitLab's shape (`glpat-` + 20 URL-safe characters). */
export function generateToken(): string {
  return `glpat-${randomBytes(15).toString('base64url')}`;
}

@Injectable()
export class AuthService {
  constructor(
    @InjectRepository(PersonalAccessToken) private readonly tokens: Repository<PersonalAccessToken>,
  ) {}

  /** The active user a token belongs to, or null for an unknown, revoked or expired token. */
  async authenticate(token: string): Promise<User | null> {
    const found = await this.tokens.findOne({
      where: { tokenDigest: digestToken(token), revoked: false },
      relations: { user: true },
    });
    if (!found?.user || found.user.state !== 'active') return null;
    if (found.expiresAt && found.expiresAt < new Date().toISOString().slice(0, 10)) return null;
    return found.user;
  }

  /** Stores a token's digest; the token itself is returned once and never stored. */
  async issue(
    manager: EntityManager,
    userId: number,
    name: string,
    scopes: string[],
    expiresAt: string | null,
    token = generateToken(),
  ): Promise<{ record: PersonalAccessToken; token: string }> {
    const record = await manager.getRepository(PersonalAccessToken).save({
      userId,
      name,
      scopes,
      expiresAt,
      revoked: false,
      tokenDigest: digestToken(token),
      createdAt: new Date(),
    });
    return { record, token };
  }
}
