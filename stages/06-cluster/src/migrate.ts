// The one-shot `migrate` service (see compose.yaml): bring the schema up to
// date, then exit. 0 means done, and only then does compose start `web`.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sequelize } from 'sequelize';
import { loadMigrateConfigOrExit } from './config.ts';
import { createDatabase } from './db.ts';
import { createMigrator } from './migrator.ts';

const config = loadMigrateConfigOrExit();
const db = createDatabase(config.databaseUrl, 'migrate');
try {
  await waitForDatabase(db.sequelize, config.migrateWaitMs);
  const applied = await createMigrator(db.sequelize).up();
  if (applied.length === 0) console.log('migrate: the schema is up to date');
  for (const migration of applied) console.log(`migrate: applied ${migration.name}`);
} catch (err) {
  console.error(`migrate: failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await db.close();
}

/**
 * Compose starts migrate once db's healthcheck passes, but on a busy laptop
 * the first connection can still be refused or take longer than its timeout
 * ("timeout expired"). So migrate asks again, every 2 s, for up to `waitMs`
 * (MIGRATE_WAIT_MS), and says what it waits for. A wrong password or database
 * name will not get better by waiting: that fails at once.
 */
async function waitForDatabase(sequelize: Sequelize, waitMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      await sequelize.query('SELECT 1');
      return;
    } catch (err) {
      const waited = Math.round((Date.now() - started) / 1000);
      const { message } = err as Error;
      // SQLSTATE 28: the password or user is wrong; 3D000: no such database.
      const code = (err as { parent?: { code?: string } }).parent?.code ?? '';
      if (/^(28|3D)/.test(code)) throw err;
      if (Date.now() - started >= waitMs) {
        throw new Error(
          `${message} (gave up after ${waited} s of waiting for the database, MIGRATE_WAIT_MS)`,
        );
      }
      console.log(`migrate: waiting for the database (${message}); ${waited} s so far`);
      await sleep(2000);
    }
  }
}
