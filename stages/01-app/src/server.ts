import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';

const config = loadConfigOrExit();
const server = createApp().listen(config.port);
await once(server, 'listening');
console.log(`listening on port ${(server.address() as AddressInfo).port}`);

// `docker compose stop` sends SIGTERM, Ctrl-C sends SIGINT. Either way: stop
// taking new connections, let the requests in flight finish, then exit 0.
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));

function shutdown(signal: string): void {
  console.log(`${signal} received, finishing in-flight requests`);
  server.close(() => {
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
