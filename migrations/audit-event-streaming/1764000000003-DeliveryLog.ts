import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { columnTypes } from '../column-types';

/**
 * The delivery log and destination health: one row per attempt of a delivery, the last response
 * excerpt on each delivery, and on each destination its health and circuit breaker state.
 */
export class DeliveryLog1764000000003 implements MigrationInterface {
  name = 'DeliveryLog1764000000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'audit_events_streaming_delivery_attempts',
        columns: [
          t.id(true),
          t.bigint('delivery_id'),
          { name: 'attempt_number', type: 'integer' },
          { name: 'status_code', type: 'integer', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
          { name: 'latency_ms', type: 'integer' },
          { name: 'response_excerpt', type: 'text', isNullable: true },
          t.timestamp('created_at'),
        ],
        indices: [
          {
            name: 'index_streaming_delivery_attempts_on_delivery',
            columnNames: ['delivery_id', 'id'],
          },
        ],
        foreignKeys: [t.foreignKey('delivery_id', 'audit_events_streaming_deliveries')],
      }),
    );
    await queryRunner.addColumn(
      'audit_events_streaming_deliveries',
      new TableColumn({ name: 'response_excerpt', type: 'text', isNullable: true }),
    );
    await queryRunner.createIndex(
      'audit_events_streaming_deliveries',
      // The cleanup's lookup: delivered rows by age.
      new TableIndex({
        name: 'index_streaming_deliveries_on_status_and_delivered_at',
        columnNames: ['status', 'delivered_at'],
      }),
    );
    const destinations = 'audit_events_external_audit_event_destinations';
    await queryRunner.addColumns(destinations, [
      new TableColumn({ name: 'consecutive_failures', type: 'integer', default: 0 }),
      new TableColumn(t.timestamp('last_success_at', true)),
      new TableColumn(t.timestamp('last_failure_at', true)),
      new TableColumn({ name: 'last_error', type: 'text', isNullable: true }),
      new TableColumn(t.timestamp('failing_since', true)),
      new TableColumn(t.timestamp('circuit_opened_at', true)),
      new TableColumn(t.timestamp('circuit_retry_at', true)),
      new TableColumn({ name: 'deactivated_reason', type: 'text', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const destinations = 'audit_events_external_audit_event_destinations';
    for (const column of [
      'deactivated_reason',
      'circuit_retry_at',
      'circuit_opened_at',
      'failing_since',
      'last_error',
      'last_failure_at',
      'last_success_at',
      'consecutive_failures',
    ])
      await queryRunner.dropColumn(destinations, column);
    await queryRunner.dropIndex(
      'audit_events_streaming_deliveries',
      'index_streaming_deliveries_on_status_and_delivered_at',
    );
    await queryRunner.dropColumn('audit_events_streaming_deliveries', 'response_excerpt');
    await queryRunner.dropTable('audit_events_streaming_delivery_attempts');
  }
}
