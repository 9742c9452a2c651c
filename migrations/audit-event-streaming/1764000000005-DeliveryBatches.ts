import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

const DELIVERIES = 'audit_events_streaming_deliveries';
const DESTINATIONS = 'audit_events_external_audit_event_destinations';

/**
 * Deliveries travel in jobs of many: each delivery row names the job that carries it (so the
 * sweeper can tell a lost job from a queued one), and a worker claims the rows of a job with a
 * token it then reads them back by. Destinations may ask for batch mode (many events per request).
 */
export class DeliveryBatches1764000000005 implements MigrationInterface {
  name = 'DeliveryBatches1764000000005';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns(DELIVERIES, [
      new TableColumn({ name: 'job_id', type: 'varchar', length: '64', isNullable: true }),
      new TableColumn({ name: 'claim_token', type: 'varchar', length: '36', isNullable: true }),
    ]);
    await queryRunner.addColumns(DESTINATIONS, [
      new TableColumn({ name: 'batch_format', type: 'varchar', length: '16', default: "'none'" }),
      new TableColumn({ name: 'batch_max_events', type: 'integer', default: 100 }),
      new TableColumn({ name: 'batch_max_bytes', type: 'integer', default: 1048576 }),
      new TableColumn({ name: 'batch_max_wait_ms', type: 'integer', default: 1000 }),
    ]);
    await queryRunner.query(
      `CREATE INDEX "index_streaming_deliveries_on_claim_token" ON "${DELIVERIES}" ("claim_token")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "index_streaming_deliveries_on_claim_token"`);
    for (const column of [
      'batch_max_wait_ms',
      'batch_max_bytes',
      'batch_max_events',
      'batch_format',
    ])
      await queryRunner.dropColumn(DESTINATIONS, column);
    await queryRunner.dropColumn(DELIVERIES, 'claim_token');
    await queryRunner.dropColumn(DELIVERIES, 'job_id');
  }
}
