// Test files run in parallel against the shared servers of global-setup.ts.
// These helpers give each file data of its own.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runStageToExit } from './stage-process.ts';

function sharedUrl(name: 'REDIS_URL' | 'DATABASE_URL'): URL {
  const url = process.env[name];
  if (!url) throw new Error(`${name} is not set: run the tests with \`npm test\` (global setup sets it).`);
  return new URL(url);
}

/**
 * A Redis URL on the shared server with a database number of this jest
 * worker's own (a worker runs one test file at a time), emptied first.
 */
export async function testRedisUrl(): Promise<string> {
  const url = sharedUrl('REDIS_URL');
  url.pathname = `/${Number(process.env.JEST_WORKER_ID ?? '1') % 16}`;
  const { Redis } = await import('ioredis');
  const redis = new Redis(url.toString(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.flushdb();
  await redis.quit();
  return url.toString();
}

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** A new, empty PostgreSQL database on the shared server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = sharedUrl('DATABASE_URL');
  const name = `workshop_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminQuery(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** A new database with the tables of `stage` (its src/migrate.ts has run against it). */
export async function createMigratedDatabase(stage: string): Promise<TestDatabase> {
  const database = await createTestDatabase();
  const migrate = await runStageToExit(stage, {
    script: 'src/migrate.ts',
    env: { DATABASE_URL: database.url },
  });
  if (migrate.code !== 0) {
    await database.drop();
    throw new Error(`stages/${stage}/src/migrate.ts failed:\n${migrate.output}`);
  }
  return database;
}

async function adminQuery(url: URL, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
