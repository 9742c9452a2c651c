import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './database';
import { preflight } from './preflight';
import { configFromEnv } from './reference-host/config';

/** `npm run migration:run`: applies pending migrations to DATABASE_URL (or the SQLite file). */
async function main(): Promise<void> {
  const config = { ...configFromEnv(), migrationsRun: false };
  const problem = await preflight(config);
  if (problem) throw new Error(problem);
  const db = new DataSource(dataSourceOptions(config));
  await db.initialize();
  const applied = await db.runMigrations({ transaction: 'each' });
  console.log(
    applied.length ? `Applied: ${applied.map((m) => m.name).join(', ')}` : 'No pending migrations',
  );
  await db.destroy();
}

main().catch((err) => {
  console.error(err?.message ?? err);
  process.exit(1);
});
