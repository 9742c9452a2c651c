import { MigrationInterface, QueryRunner } from 'typeorm';

const VERSIONS = 'audit_events_streaming_route_versions';
const DESTINATIONS = 'audit_events_external_audit_event_destinations';
const FILTERS = [
  'audit_events_streaming_event_type_filters',
  'audit_events_streaming_http_namespace_filters',
];
/** The destination columns a route is made of (health and delivery columns change often and are not). */
const ROUTE_COLUMNS = ['namespace_id', 'active', 'batch_format', 'batch_max_wait_ms'];

/**
 * `group_id` is a top-level group: a destination's `namespace_id` (not a namespace filter's).
 *
 * Fan-out caches each top-level group's routes (its active destinations and their filters). Every
 * change to them bumps the group's route version in the same transaction, by trigger, so no write
 * path can forget it; fan-out checks the versions it routed with in the statement that persists
 * the deliveries, and routes again when one moved.
 *
 * On SQLite, a later migration that rebuilds one of these tables (TypeORM does so to alter a
 * column there) drops its triggers and must create them again: until then routes are only as
 * fresh as the lookup cache's time to live. A group's version row stays locked by a transaction
 * that changed the group's routes until it ends: a second transaction changing the same group
 * waits for it.
 */
export class RouteVersions1764000000007 implements MigrationInterface {
  name = 'RouteVersions1764000000007';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "${VERSIONS}" ("group_id" integer PRIMARY KEY NOT NULL, "version" bigint NOT NULL DEFAULT 0)`,
    );
    if (queryRunner.connection.driver.options.type === 'postgres')
      await this.upPostgres(queryRunner);
    else await this.upSqlite(queryRunner);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type === 'postgres') {
      for (const table of [DESTINATIONS, ...FILTERS])
        for (const suffix of ['changed', 'updated', 'truncated'])
          await queryRunner.query(
            `DROP TRIGGER IF EXISTS "${table}_routes_${suffix}" ON "${table}"`,
          );
      await queryRunner.query(`DROP FUNCTION audit_events_streaming_all_routes_changed()`);
      await queryRunner.query(`DROP FUNCTION audit_events_streaming_filter_routes_changed()`);
      await queryRunner.query(`DROP FUNCTION audit_events_streaming_destination_routes_changed()`);
      await queryRunner.query(`DROP FUNCTION audit_events_streaming_bump_routes(integer)`);
    } else {
      for (const table of [DESTINATIONS, ...FILTERS])
        for (const op of ['insert', 'update', 'delete'])
          await queryRunner.query(`DROP TRIGGER IF EXISTS "${table}_routes_${op}"`);
    }
    await queryRunner.query(`DROP TABLE "${VERSIONS}"`);
  }

  private async upPostgres(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE FUNCTION audit_events_streaming_bump_routes(group_id integer) RETURNS void
       LANGUAGE sql AS $$
         INSERT INTO "${VERSIONS}" AS v ("group_id", "version") VALUES (group_id, 1)
         ON CONFLICT ("group_id") DO UPDATE SET "version" = v."version" + 1
       $$`,
    );
    await queryRunner.query(
      `CREATE FUNCTION audit_events_streaming_destination_routes_changed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP <> 'INSERT' THEN PERFORM audit_events_streaming_bump_routes(OLD.namespace_id); END IF;
         IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.namespace_id IS DISTINCT FROM OLD.namespace_id) THEN
           PERFORM audit_events_streaming_bump_routes(NEW.namespace_id);
         END IF;
         RETURN NULL;
       END $$`,
    );
    // A filter belongs to the group of its destination (gone already when a destroy cascades:
    // the destination's own trigger has bumped that group).
    await queryRunner.query(
      `CREATE FUNCTION audit_events_streaming_filter_routes_changed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         PERFORM audit_events_streaming_bump_routes(d.namespace_id)
         FROM "${DESTINATIONS}" d
         WHERE d.id IN (
           CASE WHEN TG_OP <> 'INSERT' THEN OLD.external_audit_event_destination_id END,
           CASE WHEN TG_OP <> 'DELETE' THEN NEW.external_audit_event_destination_id END);
         RETURN NULL;
       END $$`,
    );
    const changed = ROUTE_COLUMNS.map((c) => `OLD."${c}" IS DISTINCT FROM NEW."${c}"`).join(' OR ');
    await queryRunner.query(
      `CREATE TRIGGER "${DESTINATIONS}_routes_changed" AFTER INSERT OR DELETE ON "${DESTINATIONS}"
       FOR EACH ROW EXECUTE FUNCTION audit_events_streaming_destination_routes_changed()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "${DESTINATIONS}_routes_updated" AFTER UPDATE ON "${DESTINATIONS}"
       FOR EACH ROW WHEN (${changed}) EXECUTE FUNCTION audit_events_streaming_destination_routes_changed()`,
    );
    for (const table of FILTERS)
      await queryRunner.query(
        `CREATE TRIGGER "${table}_routes_changed" AFTER INSERT OR UPDATE OR DELETE ON "${table}"
         FOR EACH ROW EXECUTE FUNCTION audit_events_streaming_filter_routes_changed()`,
      );
    // TRUNCATE fires no row trigger: every group's routes may have changed.
    await queryRunner.query(
      `CREATE FUNCTION audit_events_streaming_all_routes_changed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE "${VERSIONS}" SET "version" = "version" + 1;
         RETURN NULL;
       END $$`,
    );
    for (const table of [DESTINATIONS, ...FILTERS])
      await queryRunner.query(
        `CREATE TRIGGER "${table}_routes_truncated" AFTER TRUNCATE ON "${table}"
         FOR EACH STATEMENT EXECUTE FUNCTION audit_events_streaming_all_routes_changed()`,
      );
  }

  /**
   * SQLite: TypeORM's driver shares one connection, so fan-out may read a version that a
   * transaction in progress has bumped, and then rolls back. A version is therefore never handed
   * out twice: it moves to the clock in milliseconds when that is ahead of version + 1.
   */
  private async upSqlite(queryRunner: QueryRunner): Promise<void> {
    const clockMs = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;
    const bump = (group: string) =>
      `INSERT OR IGNORE INTO "${VERSIONS}" ("group_id", "version") SELECT ${group}, 0 WHERE ${group} IS NOT NULL;
       UPDATE "${VERSIONS}" SET "version" = max("version" + 1, ${clockMs}) WHERE "group_id" = ${group};`;
    const ofDestination = (id: string) =>
      `(SELECT "namespace_id" FROM "${DESTINATIONS}" WHERE "id" = ${id})`;
    const changed = ROUTE_COLUMNS.map((c) => `OLD."${c}" IS NOT NEW."${c}"`).join(' OR ');
    const triggers = [
      `CREATE TRIGGER "${DESTINATIONS}_routes_insert" AFTER INSERT ON "${DESTINATIONS}"
       BEGIN ${bump('NEW."namespace_id"')} END`,
      `CREATE TRIGGER "${DESTINATIONS}_routes_delete" AFTER DELETE ON "${DESTINATIONS}"
       BEGIN ${bump('OLD."namespace_id"')} END`,
      `CREATE TRIGGER "${DESTINATIONS}_routes_update" AFTER UPDATE ON "${DESTINATIONS}"
       WHEN ${changed}
       BEGIN ${bump('OLD."namespace_id"')} ${bump('NEW."namespace_id"')} END`,
      ...FILTERS.flatMap((table) => [
        `CREATE TRIGGER "${table}_routes_insert" AFTER INSERT ON "${table}"
         BEGIN ${bump(ofDestination('NEW."external_audit_event_destination_id"'))} END`,
        `CREATE TRIGGER "${table}_routes_delete" AFTER DELETE ON "${table}"
         BEGIN ${bump(ofDestination('OLD."external_audit_event_destination_id"'))} END`,
        `CREATE TRIGGER "${table}_routes_update" AFTER UPDATE ON "${table}"
         BEGIN ${bump(ofDestination('OLD."external_audit_event_destination_id"'))}
               ${bump(ofDestination('NEW."external_audit_event_destination_id"'))} END`,
      ]),
    ];
    for (const sql of triggers) await queryRunner.query(sql);
  }
}
