import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditEventsService } from '../../audit-event-streaming';
import { authored } from '../audit/host-audit-events';
import { AuthService, digestToken, generateToken } from '../auth/auth.service';
import type { Actor } from '../auth/request-user';
import { GitlabError } from '../common/gitlab-errors';
import { PersonalAccessToken } from './personal-access-token.entity';
import { User } from './user.entity';

const USERNAME = /^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*$/;

@Injectable()
export class UsersService {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly auth: AuthService,
    private readonly audit: AuditEventsService,
  ) {}

  findById(id: number): Promise<User | null> {
    return this.db.getRepository(User).findOneBy({ id });
  }

  /**
   * Seeds the administrator `root` on first start. Its token is `ADMIN_TOKEN` when given (kept in
   * step with it on every start), otherwise generated and printed once.
   */
  async seedAdmin(adminToken?: string): Promise<void> {
    const users = this.db.getRepository(User);
    const tokens = this.db.getRepository(PersonalAccessToken);
    let root = await users.findOneBy({ username: 'root' });
    if (!root) {
      root = await users.save({
        username: 'root',
        name: 'Administrator',
        email: 'admin@example.com',
        isAdmin: true,
        state: 'active',
        createdAt: new Date(),
      });
    }
    if (adminToken) {
      const existing = await tokens.findOneBy({ tokenDigest: digestToken(adminToken) });
      if (!existing)
        await this.auth.issue(this.db.manager, root.id, 'ADMIN_TOKEN', ['api'], null, adminToken);
    } else if (!(await tokens.countBy({ userId: root.id }))) {
      const token = generateToken();
      await this.auth.issue(this.db.manager, root.id, 'generated', ['api'], null, token);
      this.logger.log(
        `Administrator "root" created; its personal access token is ${token} (shown once)`,
      );
    }
  }

  async create(actor: Actor, body: Record<string, unknown>): Promise<User> {
    if (!actor.user.isAdmin) throw GitlabError.forbidden();
    const username = String(body.username);
    if (!USERNAME.test(username)) throw GitlabError.invalid({ username: ['is invalid'] });
    const email = String(body.email);
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw GitlabError.invalid({ email: ['is invalid'] });
    const repo = this.db.getRepository(User);
    if (await repo.findOneBy({ email })) throw GitlabError.conflict('Email has already been taken');
    if (await repo.findOneBy({ username }))
      throw GitlabError.conflict('Username has already been taken');
    return this.db.transaction(async (manager) => {
      const user = await manager.getRepository(User).save({
        username,
        email,
        name: String(body.name),
        isAdmin: body.admin === true || body.admin === 'true',
        state: 'active',
        createdAt: new Date(),
      });
      await this.audit.record(
        {
          ...authored(actor),
          eventType: 'user_created',
          entity: { type: 'User', id: user.id, path: user.username },
          target: { type: 'User', id: user.id, details: user.username },
          message: `Created user ${user.username}`,
        },
        { manager },
      );
      return user;
    });
  }

  async createToken(
    actor: Actor,
    userId: number,
    body: Record<string, unknown>,
  ): Promise<{ record: PersonalAccessToken; token: string }> {
    if (!actor.user.isAdmin) throw GitlabError.forbidden();
    const user = await this.findById(userId);
    if (!user) throw GitlabError.notFound('User');
    const scopes = Array.isArray(body.scopes) ? body.scopes.map(String) : [String(body.scopes)];
    const expiresAt = body.expires_at ? String(body.expires_at) : null;
    if (expiresAt && !/^\d{4}-\d{2}-\d{2}$/.test(expiresAt))
      throw GitlabError.badParam('expires_at is invalid');
    return this.db.transaction(async (manager) => {
      const issued = await this.auth.issue(manager, user.id, String(body.name), scopes, expiresAt);
      await this.audit.record(
        {
          ...authored(actor),
          eventType: 'personal_access_token_created',
          entity: { type: 'User', id: user.id, path: user.username },
          target: { type: 'PersonalAccessToken', id: issued.record.id, details: String(body.name) },
          message: `Created personal access token with id ${issued.record.id}`,
        },
        { manager },
      );
      return issued;
    });
  }
}
