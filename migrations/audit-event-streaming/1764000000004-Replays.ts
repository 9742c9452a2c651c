import { MigrationInterface, QueryRunner, Table, TableColumn } from 'typeorm';
import { columnTypes } from '../column-types';

/**
 * Replays: one row per owner's request to redeliver (one delivery, a destination's dead
 * deliveries, or a time range of the group's events), advanced in batches by the workers. And on
 * each delivery, the attempts made before its last replay, so that a replayed delivery gets the
 * whole retry schedule again while its attempt counter (and so its job ids) keeps counting up.
 */
export class Replays1764000000004 implements MigrationInterface {
  name = 'Replays1764000000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.addColumn(
      'audit_events_streaming_deliveries',
      new TableColumn({ name: 'attempts_before_replay', type: 'integer', default: 0 }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_events_streaming_replays',
        columns: [
          t.id(),
          { name: 'destination_id', type: 'integer' },
          { name: 'kind', type: 'varchar', length: '16' },
          { name: 'status', type: 'varchar', length: '16' },
          t.timestamp('events_from', true),
          t.timestamp('events_to', true),
          t.bigint('upper_id'),
          t.bigint('cursor_id'),
          { name: 'total', type: 'integer', default: 0 },
          { name: 'processed', type: 'integer', default: 0 },
          { name: 'queued', type: 'integer', default: 0 },
          { name: 'author_id', type: 'integer', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
          t.timestamp('locked_until', true),
          t.timestamp('created_at'),
          t.timestamp('updated_at'),
          t.timestamp('finished_at', true),
        ],
        indices: [
          { name: 'index_streaming_replays_on_status', columnNames: ['status', 'id'] },
          { name: 'index_streaming_replays_on_destination', columnNames: ['destination_id', 'id'] },
        ],
        foreignKeys: [
          t.foreignKey('destination_id', 'audit_events_external_audit_event_destinations'),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_events_streaming_replays');
    await queryRunner.dropColumn('audit_events_streaming_deliveries', 'attempts_before_replay');
  }
}
