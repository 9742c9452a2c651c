import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { columnTypes } from '../column-types';

/** The plugin's tables: audit events, destinations, headers, event type and namespace filters. */
export class AuditEventStreaming1764000000000 implements MigrationInterface {
  name = 'AuditEventStreaming1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          t.id(true),
          { name: 'author_id', type: 'integer' },
          { name: 'author_name', type: 'varchar', isNullable: true },
          { name: 'entity_id', type: 'integer' },
          { name: 'entity_type', type: 'varchar' },
          { name: 'entity_path', type: 'text', isNullable: true },
          t.bigint('target_id', true),
          { name: 'target_type', type: 'varchar', isNullable: true },
          { name: 'target_details', type: 'text', isNullable: true },
          { name: 'ip_address', type: 'varchar', isNullable: true },
          { name: 'event_type', type: 'varchar' },
          { name: 'details', type: 'text' },
          t.timestamp('created_at'),
          t.timestamp('fanned_out_at', true),
        ],
        indices: [
          {
            name: 'index_audit_events_on_entity',
            columnNames: ['entity_type', 'entity_id', 'created_at'],
          },
          { name: 'index_audit_events_on_fanned_out_at', columnNames: ['fanned_out_at', 'id'] },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_events_external_audit_event_destinations',
        columns: [
          t.id(),
          { name: 'namespace_id', type: 'integer' },
          { name: 'destination_url', type: 'varchar', length: '255' },
          { name: 'verification_token', type: 'varchar', length: '24' },
          { name: 'name', type: 'varchar', length: '72' },
          { name: 'active', type: 'boolean', default: true },
          { name: 'signing_secret', type: 'varchar' },
          { name: 'previous_signing_secret', type: 'varchar', isNullable: true },
          t.timestamp('previous_signing_secret_expires_at', true),
          t.timestamp('created_at'),
          t.timestamp('updated_at'),
        ],
        uniques: [
          { name: 'uq_destination_url', columnNames: ['namespace_id', 'destination_url'] },
          { name: 'uq_destination_name', columnNames: ['namespace_id', 'name'] },
          { name: 'uq_destination_token', columnNames: ['namespace_id', 'verification_token'] },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_events_streaming_headers',
        columns: [
          t.id(),
          { name: 'external_audit_event_destination_id', type: 'integer' },
          { name: 'key', type: 'varchar', length: '255' },
          { name: 'value', type: 'varchar', length: '2000' },
          { name: 'active', type: 'boolean', default: true },
          t.timestamp('created_at'),
          t.timestamp('updated_at'),
        ],
        uniques: [
          {
            name: 'uq_streaming_header_key',
            columnNames: ['external_audit_event_destination_id', 'key'],
          },
        ],
        foreignKeys: [
          t.foreignKey(
            'external_audit_event_destination_id',
            'audit_events_external_audit_event_destinations',
          ),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_events_streaming_event_type_filters',
        columns: [
          t.id(),
          { name: 'external_audit_event_destination_id', type: 'integer' },
          { name: 'audit_event_type', type: 'varchar', length: '255' },
          t.timestamp('created_at'),
        ],
        uniques: [
          {
            name: 'uq_streaming_event_type_filter',
            columnNames: ['external_audit_event_destination_id', 'audit_event_type'],
          },
        ],
        foreignKeys: [
          t.foreignKey(
            'external_audit_event_destination_id',
            'audit_events_external_audit_event_destinations',
          ),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_events_streaming_http_namespace_filters',
        columns: [
          t.id(),
          { name: 'external_audit_event_destination_id', type: 'integer', isUnique: true },
          { name: 'namespace_id', type: 'integer' },
          { name: 'namespace_type', type: 'varchar', length: '16' },
          t.timestamp('created_at'),
        ],
        foreignKeys: [
          t.foreignKey(
            'external_audit_event_destination_id',
            'audit_events_external_audit_event_destinations',
          ),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'audit_events_streaming_http_namespace_filters',
      'audit_events_streaming_event_type_filters',
      'audit_events_streaming_headers',
      'audit_events_external_audit_event_destinations',
      'audit_events',
    ]) {
      await queryRunner.dropTable(table);
    }
  }
}
