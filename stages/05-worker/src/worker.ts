// The `worker` service (see compose.yaml): takes archive jobs from the queue
// and runs them, WORKER_CONCURRENCY at a time, until it gets SIGTERM.
import { rm } from 'node:fs/promises';
import { Worker } from 'bullmq';
import { createArchiver } from './archiver.ts';
import { loadWorkerConfigOrExit } from './config.ts';
import { createDatabase } from './db.ts';
import { beat, HEARTBEAT_INTERVAL_MS } from './heartbeat.ts';
import { ARCHIVE_QUEUE, type ArchiveJobData, type ArchiveResult } from './queue.ts';
import { workerConnection } from './redis.ts';

const config = loadWorkerConfigOrExit();
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

// #region connection
// One line when Redis goes away and one when it is back, from the events of
// the worker's main connection.
const { hostname, port } = new URL(config.redisUrl);
const where = `${hostname}:${port || 6379}`;
let up: boolean | undefined;
let stopping = false;
const connection = worker.getBackend().connection;
connection.on('ready', () => {
  if (up !== true) console.log(`redis: connected to ${where}`);
  up = true;
});
connection.on('close', () => {
  if (up === true && !stopping) console.warn(`redis: lost the connection to ${where}; waiting for it`);
  up = false;
});
connection.on('error', (err: Error) => {
  if (up !== false && !stopping)
    console.warn(`redis: ${where} is unavailable (${err.message}); waiting for it`);
  up = false;
});
// The worker repeats its connections' errors, and adds its own. An 'error'
// that nobody listens to would crash the process: log the worker's own ones.
worker.on('error', (err) => {
  if (up === true) console.error(`worker: ${err.message}`);
});
// #endregion connection

// #region heartbeat
// Touch the heartbeat file every HEARTBEAT_INTERVAL_MS, but only while the
// connection to Redis is up: a worker that has lost Redis, or hangs, stops
// touching it, and its healthcheck turns it unhealthy.
const heartbeat = setInterval(() => {
  if (up) beat(config.heartbeatFile).catch(() => {});
}, HEARTBEAT_INTERVAL_MS);
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
  clearInterval(heartbeat);
  // Without Redis no job can be finished (finishing is a Redis command):
  // then close at once; the jobs' locks run out and another worker redoes them.
  await worker.close(up !== true);
  await db.close();
  await rm(config.heartbeatFile, { force: true });
  console.log('stopped');
  process.exit(0);
}
// #endregion shutdown

// Redis may not be there yet: the worker waits for it (and the logs say so).
await worker.waitUntilReady();
console.log(`worker: taking jobs from the "${ARCHIVE_QUEUE}" queue, ${config.concurrency} at a time`);
if (up) await beat(config.heartbeatFile);
