// The `dashboard` service (see compose.yaml): bull-board, a web page that shows
// the queue (waiting, active, completed, failed jobs, their data, progress and
// errors) and lets you retry or remove jobs. Published on 127.0.0.1 only: it
// has no login, and whoever reaches it can change the queue.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express from 'express';
import { loadDashboardConfigOrExit } from './dashboard-config.ts';
import { ARCHIVE_QUEUE } from './queue.ts';
import { closeRedis, createRedis } from './redis.ts';

const config = loadDashboardConfigOrExit();
// Like web, the dashboard answers people: it fails fast while Redis is away.
const redis = createRedis(config.redisUrl, 'dashboard');
await once(redis, 'ready', { signal: AbortSignal.timeout(5000) }).catch(() => {});
const queue = new Queue(ARCHIVE_QUEUE, { connection: redis, skipVersionCheck: true });
queue.on('error', () => {});

// #region board
const board = new ExpressAdapter();
board.setBasePath('/');
createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter: board });

const app = express();
app.disable('x-powered-by');
// For the healthcheck (src/healthcheck.ts): up while Redis answers.
app.get('/healthz', async (_req, res) => {
  const up = await redis.ping().then(
    () => true,
    () => false,
  );
  res
    .status(up ? 200 : 503)
    .json({ status: up ? 'ok' : 'unavailable', dependencies: { redis: up ? 'up' : 'down' } });
});
app.use('/', board.getRouter());
// #endregion board

const server = app.listen(config.port);
await once(server, 'listening');
console.log(`listening on port ${(server.address() as AddressInfo).port}`);

process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));

function shutdown(signal: string): void {
  console.log(`${signal} received, finishing in-flight requests`);
  server.close(async () => {
    await queue.close();
    await closeRedis(redis);
    console.log('stopped');
    process.exit(0);
  });
  // The page keeps connections open: close them once they are idle.
  setInterval(() => server.closeIdleConnections(), 100).unref();
  setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs).unref();
}
