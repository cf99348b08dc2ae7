import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { loadConfigOrExit } from './config.ts';
import { createDatabase } from './db.ts';
import { createArchiveQueue } from './queue.ts';
import { closeRedis, createRedis } from './redis.ts';

const config = loadConfigOrExit();
const redis = createRedis(config.redisUrl);
// Give Redis a moment to connect, so that the first visitors get no 503. If it
// is not there (an 'error' ends the wait), start anyway: the routes answer 503
// until the connection is up.
await once(redis, 'ready', { signal: AbortSignal.timeout(5000) }).catch(() => {});
// Sequelize connects on the first query; the `migrate` service has already checked that Postgres is there.
const db = createDatabase(config.databaseUrl);
const archive = createArchiveQueue(redis, {
  attempts: config.archiveAttempts,
  backoffMs: config.archiveBackoffMs,
});
let draining = false;
const app = createApp({
  redis,
  db,
  archive,
  bodyLimit: config.bodyLimit,
  replicaName: config.replicaName,
  isDraining: () => draining,
});
const server = app.listen(config.port);

// `docker compose stop` sends SIGTERM, Ctrl-C sends SIGINT. Either way: drain
// first (keep serving while the proxy takes us out of the rotation), then stop
// taking new connections, let the requests in flight finish, close the
// connections to Redis and Postgres, and exit 0.
process.once('SIGTERM', () => drain('SIGTERM'));
process.once('SIGINT', () => drain('SIGINT'));

function drain(signal: string): void {
  draining = true;
  console.log(
    `${signal} received, draining for ${config.drainMs} ms: /healthz says so, connections close after each answer`,
  );
  setTimeout(shutdown, config.drainMs);
}

function shutdown(): void {
  console.log('drained: no new connections, finishing in-flight requests');
  server.close(async () => {
    // Only now: the requests that just finished still needed them.
    await archive.close();
    await Promise.all([closeRedis(redis), db.close()]);
    console.log('stopped');
    process.exit(0);
  });
  // A keep-alive connection turns idle once its last response is out: close
  // those as they appear, instead of waiting for the client to hang up.
  setInterval(() => server.closeIdleConnections(), 100).unref();
  // A client that never finishes its request must not keep us alive forever.
  setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs).unref();
}

// Said last, once SIGTERM is ours to handle: a `docker compose stop` right
// after this line must find the handlers in place.
await once(server, 'listening');
console.log(`listening on port ${(server.address() as AddressInfo).port}`);
