// The one-shot `migrate` service (see compose.yaml): bring the schema up to
// date, then exit. 0 means done, and only then does compose start `web`.
import { loadMigrateConfigOrExit } from './config.ts';
import { createDatabase } from './db.ts';
import { createMigrator } from './migrator.ts';

const config = loadMigrateConfigOrExit();
const db = createDatabase(config.databaseUrl, 'migrate');
try {
  const applied = await createMigrator(db.sequelize).up();
  if (applied.length === 0) console.log('migrate: the schema is up to date');
  for (const migration of applied) console.log(`migrate: applied ${migration.name}`);
} catch (err) {
  console.error(`migrate: failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await db.close();
}
