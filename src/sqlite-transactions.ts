import type { DataSource } from 'typeorm';

/**
 * TypeORM's better-sqlite3 driver shares one connection, so two requests' transactions would
 * nest (the second as a savepoint of the first) and a rollback of one would take the other's
 * writes with it. On SQLite, top-level transactions therefore run one at a time.
 */
export function serializeSqliteTransactions(dataSource: DataSource): DataSource {
  if (dataSource.options.type !== 'better-sqlite3') return dataSource;
  const manager = dataSource.manager;
  const transaction = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  let tail: Promise<unknown> = Promise.resolve();
  (manager as { transaction: unknown }).transaction = (...args: unknown[]) => {
    const run = tail.then(() => transaction(...args));
    tail = run.catch(() => undefined);
    return run;
  };
  return dataSource;
}
