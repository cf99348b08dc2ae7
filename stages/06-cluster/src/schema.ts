// Compose started web only once `migrate` had exited 0 (depends_on with a
// condition). Swarm ignores depends_on: every service starts at once, on
// whichever node, and restarts until it works. So web and the worker wait
// themselves, until the database holds every migration this image knows.
import { setTimeout as sleep } from 'node:timers/promises';
import { QueryTypes } from 'sequelize';
import type { Database } from './db.ts';
import { migrations } from './migrator.ts';

const POLL_MS = 2000;

// #region wait
export async function waitForSchema(db: Database, who: string): Promise<void> {
  let said = '';
  for (;;) {
    const missing = await missingMigrations(db).catch((err: Error) => [`(no answer: ${err.message})`]);
    if (missing.length === 0) return;
    const now = `${who}: waiting for the migrate job, the database lacks ${missing.join(', ')}`;
    if (now !== said) console.log(now);
    said = now;
    await sleep(POLL_MS);
  }
}
// #endregion wait

/** The migrations of this image that the `migrations` table (Umzug's) does not list yet. */
async function missingMigrations(db: Database): Promise<string[]> {
  const [{ exists }] = await db.sequelize.query<{ exists: boolean }>(
    "SELECT to_regclass('migrations') IS NOT NULL AS exists",
    { type: QueryTypes.SELECT },
  );
  if (!exists) return migrations.map((m) => m.name);
  const rows = await db.sequelize.query<{ name: string }>('SELECT name FROM migrations', {
    type: QueryTypes.SELECT,
  });
  const done = new Set(rows.map((row) => row.name));
  return migrations.map((m) => m.name).filter((name) => !done.has(name));
}
