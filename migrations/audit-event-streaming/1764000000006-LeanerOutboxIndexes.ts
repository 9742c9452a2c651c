import { MigrationInterface, QueryRunner } from 'typeorm';

const DELIVERIES = 'audit_events_streaming_deliveries';
const EVENTS = 'audit_events';

/** Drops the index `old` and runs `create` (the index that replaces it). */
async function swapIndex(queryRunner: QueryRunner, old: string, create: string): Promise<void> {
  await queryRunner.query(`DROP INDEX "${old}"`);
  await queryRunner.query(create);
}

/**
 * Every audit event writes its row, then marks it fanned out; every delivery is written, claimed
 * and settled: each of those row versions pays for every index on its table. Partial indexes hold
 * only the rows their lookups ask for (the unfanned events, the undelivered deliveries, the
 * delivered ones by age, the claimed ones by token), so most row versions skip most indexes.
 */
export class LeanerOutboxIndexes1764000000006 implements MigrationInterface {
  name = 'LeanerOutboxIndexes1764000000006';

  async up(queryRunner: QueryRunner): Promise<void> {
    const swap = (old: string, create: string) => swapIndex(queryRunner, old, create);
    // The sweeper: events committed but not fanned out yet, oldest first.
    await swap(
      'index_audit_events_on_fanned_out_at',
      `CREATE INDEX "index_audit_events_unfanned" ON "${EVENTS}" ("id") WHERE "fanned_out_at" IS NULL`,
    );
    // Batch claims, resumes and the sweeper: a destination's undelivered deliveries in order.
    await swap(
      'index_streaming_deliveries_on_status_and_next_attempt',
      `CREATE INDEX "index_streaming_deliveries_undelivered" ON "${DELIVERIES}" ("destination_id", "id") ` +
        `WHERE "status" IN ('pending', 'failed')`,
    );
    // The cleanup: delivered rows by age.
    await swap(
      'index_streaming_deliveries_on_status_and_delivered_at',
      `CREATE INDEX "index_streaming_deliveries_delivered" ON "${DELIVERIES}" ("delivered_at") ` +
        `WHERE "status" = 'delivered'`,
    );
    // A worker reading back what it claimed.
    await swap(
      'index_streaming_deliveries_on_claim_token',
      `CREATE INDEX "index_streaming_deliveries_claimed" ON "${DELIVERIES}" ("claim_token") ` +
        `WHERE "claim_token" IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const swap = (old: string, create: string) => swapIndex(queryRunner, old, create);
    await swap(
      'index_audit_events_unfanned',
      `CREATE INDEX "index_audit_events_on_fanned_out_at" ON "${EVENTS}" ("fanned_out_at", "id")`,
    );
    await swap(
      'index_streaming_deliveries_undelivered',
      `CREATE INDEX "index_streaming_deliveries_on_status_and_next_attempt" ON "${DELIVERIES}" ("status", "next_attempt_at")`,
    );
    await swap(
      'index_streaming_deliveries_delivered',
      `CREATE INDEX "index_streaming_deliveries_on_status_and_delivered_at" ON "${DELIVERIES}" ("status", "delivered_at")`,
    );
    await swap(
      'index_streaming_deliveries_claimed',
      `CREATE INDEX "index_streaming_deliveries_on_claim_token" ON "${DELIVERIES}" ("claim_token")`,
    );
  }
}
