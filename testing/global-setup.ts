// Before any test file runs: a Redis and a PostgreSQL server that all test
// files share (each file gets its own Redis database number and its own
// PostgreSQL database, see isolation.ts). REDIS_URL and DATABASE_URL, when
// set, name servers of your own and nothing is started.
import { dockerAnswers, postgresTemplateImage } from './docker-servers.ts';
import {
  createPostgresTemplate,
  postgresBinDir,
  serverSource,
  startPostgres,
  startRedis,
  type TestServer,
} from './services.ts';

export default async function globalSetup(): Promise<void> {
  const started: TestServer[] = [];
  (globalThis as { workshopServers?: TestServer[] }).workshopServers = started;
  const redisFrom = serverSource('redis');
  const postgresFrom = serverSource('postgres');
  // One line, so that a run's log says which path it took.
  console.log(`\ntest servers: Redis ${from(redisFrom)}, PostgreSQL ${from(postgresFrom)}`);

  // Tests that take a server down start private ones, from a template made
  // once: a data folder for local servers, an image for containers.
  if (postgresFrom === 'local' && postgresBinDir()) {
    process.env.WORKSHOP_PG_TEMPLATE = createPostgresTemplate();
  }
  if (postgresFrom === 'docker' && (await dockerAnswers())) await postgresTemplateImage();
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

function from(source: 'local' | 'docker'): string {
  return source === 'local' ? 'from local binaries' : 'in Docker containers';
}
