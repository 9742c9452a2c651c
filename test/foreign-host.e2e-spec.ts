import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Column,
  DataSource,
  Entity,
  MigrationInterface,
  PrimaryGeneratedColumn,
  QueryRunner,
} from 'typeorm';
import {
  AccessLevel,
  AUDIT_EVENT_STREAMING_ENTITIES,
  AUDIT_EVENT_STREAMING_MIGRATIONS,
  AuditEvent,
  AuditEventCommits,
  AuditEventsService,
  AuditEventStreamingHost,
  AuditEventStreamingModule,
  FeatureFlagService,
  HostGroup,
  HostProject,
  HostUser,
  RecordAuditEventInput,
} from '../src/audit-event-streaming';

// ---------------------------------------------------------------------------------------------
// A host that is not the reference host: one `teams` table, its own migration, its own adapter.
// It imports the plugin through its public index only, and has no GraphQL at all.
// ---------------------------------------------------------------------------------------------

@Entity({ name: 'teams' })
class Team {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar' })
  name: string;

  @Column({ type: 'varchar', unique: true })
  path: string;

  @Column({ name: 'owner_id', type: 'integer' })
  ownerId: number;
}

class CreateTeams1800000000000 implements MigrationInterface {
  name = 'CreateTeams1800000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "teams" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, ` +
        `"name" varchar NOT NULL, "path" varchar NOT NULL UNIQUE, "owner_id" integer NOT NULL)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "teams"`);
  }
}

/** Teams are flat top-level groups; a team's owner owns it; there are no projects. */
class TeamHost implements AuditEventStreamingHost {
  /** Bound once the host's DataSource exists (the plugin's options are built before it). */
  db!: DataSource;

  private toGroup(team: Team): HostGroup {
    const { id, name, path } = team;
    return { id, name, path, fullPath: path, fullName: name, parentId: null };
  }

  async currentUser(request: unknown): Promise<HostUser | null> {
    return (request as { user?: HostUser } | undefined)?.user ?? null;
  }

  async findGroupById(id: number): Promise<HostGroup | null> {
    const team = await this.db.getRepository(Team).findOneBy({ id });
    return team && this.toGroup(team);
  }

  async findGroupByFullPath(fullPath: string): Promise<HostGroup | null> {
    const team = await this.db.getRepository(Team).findOneBy({ path: fullPath });
    return team && this.toGroup(team);
  }

  findRootGroup(groupId: number): Promise<HostGroup | null> {
    return this.findGroupById(groupId);
  }

  async findProjectById(): Promise<HostProject | null> {
    return null;
  }

  async findProjectByFullPath(): Promise<HostProject | null> {
    return null;
  }

  async accessLevel(userId: number, groupId: number): Promise<AccessLevel> {
    const team = await this.db.getRepository(Team).findOneBy({ id: groupId });
    return team?.ownerId === userId ? AccessLevel.Owner : AccessLevel.NoAccess;
  }
}

function teamsHostModule(database: string, bullPrefix: string, host: TeamHost) {
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'better-sqlite3',
        database,
        entities: [...AUDIT_EVENT_STREAMING_ENTITIES, Team],
        migrations: [...AUDIT_EVENT_STREAMING_MIGRATIONS, CreateTeams1800000000000],
        migrationsRun: true,
      }),
      BullModule.forRoot({ redis: 'redis://127.0.0.1:6379', prefix: bullPrefix }),
      AuditEventStreamingModule.forRoot({ host, featureFlag: false, eventTypes: ['team_created'] }),
    ],
  })
  class TeamsHostModule {}
  return TeamsHostModule;
}

const ADA = { id: 7, name: 'Ada' };

function teamCreated(team: Team): RecordAuditEventInput {
  return {
    eventType: 'team_created',
    author: ADA,
    entity: { type: 'Group', id: team.id, path: team.path },
    target: { type: 'Group', id: team.id, details: team.path },
    ipAddress: '10.1.2.3',
    message: 'Added team',
  };
}

describe('the plugin in a host that is not the reference host', () => {
  const file = join(tmpdir(), `aes_foreign_${randomBytes(6).toString('hex')}.sqlite`);
  const host = new TeamHost();
  let moduleRef: TestingModule;
  let db: DataSource;
  let audit: AuditEventsService;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [teamsHostModule(file, `test-foreign-${randomBytes(6).toString('hex')}`, host)],
    }).compile();
    moduleRef.useLogger(['error']);
    db = moduleRef.get<DataSource>(getDataSourceToken());
    host.db = db;
    await moduleRef.init();
    audit = moduleRef.get(AuditEventsService);
  });
  afterAll(async () => {
    await moduleRef?.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  });

  describe('booting', () => {
    it("runs the plugin's migrations beside the host's own", async () => {
      const tables: { name: string }[] = await db.query(
        `SELECT name FROM sqlite_master WHERE type = 'table'`,
      );
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['teams', 'audit_events']));
      const migrations: { name: string }[] = await db.query('SELECT name FROM migrations');
      expect(migrations.map((m) => m.name)).toEqual(
        expect.arrayContaining([
          ...AUDIT_EVENT_STREAMING_MIGRATIONS.map((m) => m.name),
          'CreateTeams1800000000000',
        ]),
      );
    });

    it("uses the host's adapter as its host port", async () => {
      expect(moduleRef.get(AuditEventStreamingHost)).toBe(host);
    });

    it('turns gating off with featureFlag: false', async () => {
      const flags = moduleRef.get(FeatureFlagService);
      expect(flags.isEnabled({ id: 1, fullPath: 'any' })).toBe(true);
    });
  });

  describe("recording in the host's own transaction", () => {
    it('commits a team_created event together with the team', async () => {
      const team = await db.transaction(async (manager) => {
        const saved = await manager.getRepository(Team).save({
          name: 'Platform',
          path: 'platform',
          ownerId: ADA.id,
        });
        await audit.record(teamCreated(saved), { manager });
        return saved;
      });

      const events = await db.getRepository(AuditEvent).findBy({ eventType: 'team_created' });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        authorId: ADA.id,
        authorName: 'Ada',
        entityType: 'Group',
        entityId: team.id,
        entityPath: 'platform',
        targetType: 'Group',
        targetDetails: 'platform',
        ipAddress: '10.1.2.3',
        eventType: 'team_created',
      });
      expect(events[0].details).toMatchObject({
        author_name: 'Ada',
        custom_message: 'Added team',
        ip_address: '10.1.2.3',
        entity_path: 'platform',
        event_name: 'team_created',
      });
      const [listed, total] = await audit.findForEntity({
        entityType: 'Group',
        entityId: team.id,
        offset: 0,
        limit: 10,
      });
      expect(total).toBe(1);
      expect(listed[0].id).toEqual(events[0].id);
    });

    it('rolls the event back with the team', async () => {
      await expect(
        db.transaction(async (manager) => {
          const saved = await manager
            .getRepository(Team)
            .save({ name: 'Doomed', path: 'doomed', ownerId: ADA.id });
          await audit.record(teamCreated(saved), { manager });
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      expect(await db.getRepository(Team).findOneBy({ path: 'doomed' })).toBeNull();
      const events = await db.getRepository(AuditEvent).findBy({ eventType: 'team_created' });
      expect(events.map((e) => e.entityPath)).not.toContain('doomed');
    });

    it('tells after-commit listeners about the committed event', async () => {
      const heard: string[] = [];
      moduleRef.get(AuditEventCommits).onCommitted((events) => {
        heard.push(...events.map((e) => String(e.entityPath)));
      });
      await db.transaction(async (manager) => {
        const saved = await manager
          .getRepository(Team)
          .save({ name: 'Data', path: 'data', ownerId: ADA.id });
        await audit.record(teamCreated(saved), { manager });
      });
      for (let i = 0; i < 100 && !heard.includes('data'); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(heard).toEqual(['data']);
    });
  });

  describe('event types', () => {
    it('refuses an event type the host did not declare, and the transaction fails with it', async () => {
      await expect(
        db.transaction(async (manager) => {
          const saved = await manager
            .getRepository(Team)
            .save({ name: 'Ops', path: 'ops', ownerId: ADA.id });
          await audit.record({ ...teamCreated(saved), eventType: 'team_renamed' }, { manager });
        }),
      ).rejects.toThrow(
        'Validation failed: Audit event type with value team_renamed is undefined.',
      );
      expect(await db.getRepository(Team).findOneBy({ path: 'ops' })).toBeNull();
      expect(await db.getRepository(AuditEvent).findBy({ eventType: 'team_renamed' })).toEqual([]);
    });

    it("refuses a reference-host event type: this host never declared GitLab's group_created", async () => {
      await expect(
        audit.record({
          eventType: 'group_created',
          author: ADA,
          entity: { type: 'Group', id: 1, path: 'platform' },
        }),
      ).rejects.toThrow(
        'Validation failed: Audit event type with value group_created is undefined.',
      );
    });
  });
});
