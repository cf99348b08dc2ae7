// The `worker` service (see compose.yaml): takes archive jobs from the queue
// and runs them, WORKER_CONCURRENCY at a time, until it gets SIGTERM.
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'bullmq';
import { createArchiver } from './archiver.ts';
import { loadConfigOrExit, loadWorkerConfig } from './config.ts';
import { createDatabase } from './db.ts';
import { beat, HEARTBEAT_INTERVAL_MS } from './heartbeat.ts';
import { ARCHIVE_QUEUE, type ArchiveJobData, type ArchiveResult } from './queue.ts';
import { workerConnection } from './redis.ts';

const config = loadConfigOrExit(loadWorkerConfig);
const db = createDatabase(config.databaseUrl, 'worker');
const archiver = createArchiver({ db, archiveDir: config.archiveDir, stepDelayMs: config.stepDelayMs });

// #region worker
const worker = new Worker<ArchiveJobData, ArchiveResult>(ARCHIVE_QUEUE, archiver, {
  connection: workerConnection(config.redisUrl),
  concurrency: config.concurrency,
  // While a worker works on a job, it holds the job's lock and renews it
  // every lockDuration / 2. A worker that dies (SIGKILL, a crash, a lost
  // machine) stops renewing; the lock runs out, and the stalled check of a
  // living worker, every stalledInterval, puts the job back into the queue.
  lockDuration: config.lockDurationMs,
  stalledInterval: config.stalledIntervalMs,
});
// #endregion worker

// #region events
worker.on('failed', (job, err) => {
  const attempts = job ? ` (attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1})` : '';
  console.warn(`worker: job ${job?.id} failed${attempts}: ${err.message}`);
});
worker.on('stalled', (jobId) => {
  console.warn(
    `worker: job ${jobId} stalled (its worker stopped renewing the lock); it is back in the queue`,
  );
});
// #endregion events

// One line when Redis goes away and one when it is back. Listening to 'error'
// also keeps an error that nobody listens to from crashing the worker.
const { hostname, port } = new URL(config.redisUrl);
const where = `${hostname}:${port || 6379}`;
let up: boolean | undefined;
worker.on('error', (err) => {
  if (up !== false) console.warn(`redis: ${where} is unavailable (${err.message}); the worker waits for it`);
  up = false;
});

await worker.waitUntilReady();
console.log(`worker: taking jobs from the "${ARCHIVE_QUEUE}" queue, ${config.concurrency} at a time`);

// #region heartbeat
let stopping = false;
// Every HEARTBEAT_INTERVAL_MS: touch the heartbeat file, but only while the
// worker's connection to Redis is ready. A worker that has lost Redis (or
// hangs) stops touching it, and its healthcheck turns it unhealthy.
void (async () => {
  while (!stopping) {
    const ready = (await worker.getBackend().client).status === 'ready';
    if (ready && up !== true) console.log(`redis: connected to ${where}`);
    if (ready) up = true;
    if (ready) await beat(config.heartbeatFile).catch(() => {});
    await sleep(HEARTBEAT_INTERVAL_MS);
  }
})();
// #endregion heartbeat

// #region shutdown
// `docker compose stop` sends SIGTERM, Ctrl-C SIGINT. Either way: take no new
// jobs, finish the ones in hand (worker.close() waits for them), then exit 0.
// A job that is not done when Docker loses patience (10 s, then SIGKILL) is
// not lost: its lock runs out and another worker takes it up again.
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));

async function shutdown(signal: string): Promise<void> {
  console.log(`${signal} received, finishing the jobs in hand`);
  stopping = true;
  await worker.close();
  await db.close();
  await rm(config.heartbeatFile, { force: true });
  console.log('stopped');
  process.exit(0);
}
// #endregion shutdown
