import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { closeRedis, createRedis } from './redis.ts';

const config = loadConfigOrExit();
const redis = createRedis(config.redisUrl);
// Give Redis a moment to connect, so that the first visitors get no 503. If it
// is not there (an 'error' ends the wait), start anyway: the routes answer 503
// until the connection is up.
await once(redis, 'ready', { signal: AbortSignal.timeout(5000) }).catch(() => {});
const server = createApp({ redis }).listen(config.port);
await once(server, 'listening');
console.log(`listening on port ${(server.address() as AddressInfo).port}`);

// `docker compose stop` sends SIGTERM, Ctrl-C sends SIGINT. Either way: stop
// taking new connections, let the requests in flight finish, close the
// connection to Redis, then exit 0.
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));

function shutdown(signal: string): void {
  console.log(`${signal} received, finishing in-flight requests`);
  server.close(async () => {
    // Only now: the requests that just finished still needed Redis.
    await closeRedis(redis);
    console.log('stopped');
    process.exit(0);
  });
  // A keep-alive connection turns idle once its last response is out: close
  // those as they appear, instead of waiting for the client to hang up.
  setInterval(() => server.closeIdleConnections(), 100).unref();
  // A client that never finishes its request must not keep us alive forever.
  setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs).unref();
}

function loadConfigOrExit() {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`Configuration error: ${err.message}`);
    process.exit(1);
  }
}
