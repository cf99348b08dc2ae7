// A BullMQ worker whose job does nothing, for the baseline of `npm run bench`:
// the same connection settings and worker settings as stage 05's
// src/worker.ts (read the same way, from the same variables), on another
// queue (QUEUE). What it achieves is BullMQ's own cost per job.
import { Worker } from 'bullmq';
import { workerConnection } from '../../stages/05-worker/src/redis.ts';
import { loadWorkerConfig } from '../../stages/05-worker/src/worker-config.ts';

const config = loadWorkerConfig(process.env);
const queue = process.env.QUEUE ?? 'bench-noop';

const worker = new Worker(queue, async () => {}, {
  connection: workerConnection(config.redisUrl),
  concurrency: config.concurrency,
  lockDuration: config.lockDurationMs,
  stalledInterval: config.stalledIntervalMs,
});
worker.on('error', (err) => console.error(`noop worker: ${err.message}`));

process.once('SIGTERM', async () => {
  await worker.close();
  process.exit(0);
});

await worker.waitUntilReady();
console.log(`noop worker: taking jobs from the "${queue}" queue, ${config.concurrency} at a time`);
