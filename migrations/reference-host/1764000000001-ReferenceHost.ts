import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { columnTypes } from '../column-types';

/** The reference host's tables: users, tokens, groups, members, projects. */
export class ReferenceHost1764000000001 implements MigrationInterface {
  name = 'ReferenceHost1764000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          t.id(),
          { name: 'username', type: 'varchar', isUnique: true },
          { name: 'name', type: 'varchar' },
          { name: 'email', type: 'varchar', isUnique: true },
          { name: 'is_admin', type: 'boolean', default: false },
          { name: 'state', type: 'varchar', default: "'active'" },
          t.timestamp('created_at'),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'personal_access_tokens',
        columns: [
          t.id(),
          { name: 'user_id', type: 'integer' },
          { name: 'name', type: 'varchar' },
          { name: 'token_digest', type: 'varchar', isUnique: true },
          { name: 'scopes', type: 'text' },
          { name: 'revoked', type: 'boolean', default: false },
          { name: 'expires_at', type: 'varchar', length: '10', isNullable: true },
          t.timestamp('created_at'),
        ],
        foreignKeys: [t.foreignKey('user_id', 'users')],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'groups',
        columns: [
          t.id(),
          { name: 'name', type: 'varchar' },
          { name: 'path', type: 'varchar' },
          { name: 'full_path', type: 'varchar', isUnique: true },
          { name: 'full_name', type: 'varchar' },
          { name: 'parent_id', type: 'integer', isNullable: true },
          { name: 'visibility', type: 'varchar', default: "'private'" },
          { name: 'description', type: 'varchar', default: "''" },
          t.timestamp('created_at'),
        ],
        foreignKeys: [t.foreignKey('parent_id', 'groups')],
        indices: [{ name: 'index_groups_on_parent_id', columnNames: ['parent_id'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'group_members',
        columns: [
          t.id(),
          { name: 'group_id', type: 'integer' },
          { name: 'user_id', type: 'integer' },
          { name: 'access_level', type: 'integer' },
          { name: 'expires_at', type: 'varchar', length: '10', isNullable: true },
          t.timestamp('created_at'),
        ],
        uniques: [{ name: 'uq_group_members', columnNames: ['group_id', 'user_id'] }],
        foreignKeys: [t.foreignKey('group_id', 'groups'), t.foreignKey('user_id', 'users')],
        indices: [{ name: 'index_group_members_on_user_id', columnNames: ['user_id'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'projects',
        columns: [
          t.id(),
          { name: 'name', type: 'varchar' },
          { name: 'path', type: 'varchar' },
          { name: 'full_path', type: 'varchar', isUnique: true },
          { name: 'group_id', type: 'integer', isNullable: true },
          { name: 'owner_id', type: 'integer', isNullable: true },
          { name: 'creator_id', type: 'integer' },
          { name: 'visibility', type: 'varchar', default: "'private'" },
          { name: 'description', type: 'varchar', default: "''" },
          t.timestamp('created_at'),
        ],
        foreignKeys: [t.foreignKey('group_id', 'groups'), t.foreignKey('owner_id', 'users')],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'projects',
      'group_members',
      'groups',
      'personal_access_tokens',
      'users',
    ]) {
      await queryRunner.dropTable(table);
    }
  }
}
