// Before any test file runs: a Redis and a PostgreSQL server that all test
// files share (each file gets its own Redis database number and its own
// PostgreSQL database, see isolation.ts). REDIS_URL and DATABASE_URL, when
// set, name servers of your own and nothing is started.
import {
  createPostgresTemplate,
  postgresBinDir,
  startPostgres,
  startRedis,
  type TestServer,
} from './services.ts';

export default async function globalSetup(): Promise<void> {
  const started: TestServer[] = [];
  (globalThis as { workshopServers?: TestServer[] }).workshopServers = started;

  // Tests that take a server down start private ones from this template.
  if (postgresBinDir()) process.env.WORKSHOP_PG_TEMPLATE = createPostgresTemplate();
  if (!process.env.REDIS_URL) {
    const redis = await startRedis();
    started.push(redis);
    process.env.REDIS_URL = redis.url;
  }
  if (!process.env.DATABASE_URL) {
    const postgres = await startPostgres();
    started.push(postgres);
    process.env.DATABASE_URL = postgres.url;
  }
}
