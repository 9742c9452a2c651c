import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * The hot path's SQL on PostgreSQL: statements the worker and fan-out run for every batch of
 * events go straight to the driver's pool (no query builder, no query runner per statement), with
 * arrays as parameters (`= ANY($1)`), so their cost does not grow with TypeORM's per-parameter
 * work. Other databases (SQLite) keep the portable TypeORM path beside each such statement.
 */
export function onPostgres(db: DataSource): boolean {
  return db.options.type === 'postgres';
}

/** One statement on the pool (autocommit); the rows it returns. */
export async function pgRows<T = Record<string, unknown>>(
  db: DataSource,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const pool = (db.driver as unknown as { master: { query: PgQuery } }).master;
  return (await pool.query(text, values)).rows as T[];
}

type PgQuery = (text: string, values: unknown[]) => Promise<{ rows: unknown[] }>;

/**
 * An entity from a raw row whose columns carry `prefix` before their database names, values
 * converted as TypeORM converts them when it loads the entity.
 */
export function hydrate<T extends ObjectLiteral>(
  db: DataSource,
  target: EntityTarget<T>,
  row: Record<string, unknown>,
  prefix = '',
): T {
  const metadata = db.getMetadata(target);
  const entity = metadata.create() as T;
  for (const column of metadata.columns) {
    const key = `${prefix}${column.databaseName}`;
    if (key in row)
      (entity as Record<string, unknown>)[column.propertyName] = db.driver.prepareHydratedValue(
        row[key],
        column,
      );
  }
  return entity;
}

/** `alias.column AS "<prefix>column"` for every column of the entity, for `hydrate`. */
export function selectColumns(
  db: DataSource,
  target: EntityTarget<ObjectLiteral>,
  alias: string,
  prefix: string,
): string {
  return db
    .getMetadata(target)
    .columns.map((c) => `${alias}."${c.databaseName}" AS "${prefix}${c.databaseName}"`)
    .join(', ');
}
