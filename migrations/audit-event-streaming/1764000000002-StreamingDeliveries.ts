import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { columnTypes } from '../column-types';

/** The delivery outbox: one row per (audit event, destination). */
export class StreamingDeliveries1764000000002 implements MigrationInterface {
  name = 'StreamingDeliveries1764000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'audit_events_streaming_deliveries',
        columns: [
          t.id(true),
          t.bigint('audit_event_id'),
          { name: 'destination_id', type: 'integer' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'attempts', type: 'integer', default: 0 },
          t.timestamp('next_attempt_at', true),
          t.timestamp('last_attempt_at', true),
          { name: 'last_status_code', type: 'integer', isNullable: true },
          { name: 'last_error', type: 'text', isNullable: true },
          t.timestamp('delivered_at', true),
          t.timestamp('created_at'),
        ],
        uniques: [
          { name: 'uq_streaming_delivery', columnNames: ['audit_event_id', 'destination_id'] },
        ],
        indices: [
          {
            name: 'index_streaming_deliveries_on_status_and_next_attempt',
            columnNames: ['status', 'next_attempt_at'],
          },
          {
            name: 'index_streaming_deliveries_on_destination',
            columnNames: ['destination_id', 'id'],
          },
        ],
        foreignKeys: [
          {
            columnNames: ['audit_event_id'],
            referencedTableName: 'audit_events',
            referencedColumnNames: ['id'],
          },
          t.foreignKey('destination_id', 'audit_events_external_audit_event_destinations'),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_events_streaming_deliveries');
  }
}
