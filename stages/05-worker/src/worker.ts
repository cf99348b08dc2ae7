// The `worker` service (see compose.yaml): takes archive jobs from the queue
// and runs them, WORKER_CONCURRENCY at a time, until it gets SIGTERM.
import { rm } from 'node:fs/promises';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createDatabase } from './db.ts';
import {
  ARCHIVE_QUEUE,
  type ArchiveJobData,
  type ArchiveResult,
  archiveJobOptions,
  cappedBackoff,
} from './queue.ts';
import { workerConnection } from './redis.ts';
import { createArchiver } from './worker-archiver.ts';
import { loadWorkerConfigOrExit } from './worker-config.ts';
import { beat, HEARTBEAT_INTERVAL_MS } from './worker-heartbeat.ts';
import { createReconciler } from './worker-reconciler.ts';

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
  // The jobs ask for the 'capped-exponential' backoff (src/queue.ts): the
  // wait doubles with each retry, and stops growing at ARCHIVE_BACKOFF_MAX_MS.
  settings: { backoffStrategy: cappedBackoff(config.archiveBackoffMaxMs) },
});
// #endregion worker

worker.on('failed', (job, err) => {
  const attempts = job ? ` (attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1})` : '';
  console.warn(`worker: job ${job?.id} failed${attempts}: ${err.message}`);
});
worker.on('stalled', (jobId) => {
  console.warn(
    `worker: job ${jobId} stalled (its worker stopped renewing the lock); it is back in the queue`,
  );
});

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

// #region reconciler
// The reconciler (src/worker-reconciler.ts) has a Queue of its own, on a connection
// like the worker's: during an outage its commands wait for Redis to come
// back, and the pass goes on from there. A pass at the start, then one every
// RECONCILE_INTERVAL_MS after the previous one has ended (never two at once).
const { url: redisUrl, ...redisOptions } = workerConnection(config.redisUrl);
const reconcilerRedis = new Redis(redisUrl, { ...redisOptions, connectionName: 'reconciler' });
// The worker's own connection already tells about an outage.
reconcilerRedis.on('error', () => {});
const queue = new Queue<ArchiveJobData, ArchiveResult>(ARCHIVE_QUEUE, {
  connection: reconcilerRedis,
  defaultJobOptions: archiveJobOptions({
    attempts: config.archiveAttempts,
    backoffMs: config.archiveBackoffMs,
  }),
});
queue.on('error', () => {});
const reconcile = createReconciler(db, queue);
let nextPass: NodeJS.Timeout | undefined;
let pass: Promise<void> = Promise.resolve();
let passFailed = false;
const failedForGood = new Set<number>();

async function reconcileNow(): Promise<void> {
  try {
    const { added, retried, failedForGood: left } = await reconcile();
    if (added.length > 0) console.log(`reconciler: queued the jobs of ${describe(added)} (they had none)`);
    if (retried.length > 0) console.log(`reconciler: retried the failed jobs of ${describe(retried)}`);
    // Said once per record, not on every pass.
    const news = left.filter((id) => !failedForGood.has(id));
    for (const id of news) failedForGood.add(id);
    if (news.length > 0) {
      console.warn(
        `reconciler: the jobs of ${describe(news)} failed for good (UnrecoverableError); left failed, see the dashboard`,
      );
    }
    if (passFailed) console.log('reconciler: back to work');
    passFailed = false;
  } catch (err) {
    // Postgres away, most likely: said once, and the next pass tries again.
    if (!passFailed && !stopping)
      console.warn(`reconciler: pass failed (${(err as Error).message}); trying again`);
    passFailed = true;
  }
  if (!stopping) nextPass = setTimeout(() => (pass = reconcileNow()), config.reconcileIntervalMs);
}

function describe(ids: number[]): string {
  const shown = ids.slice(0, 10).join(', ');
  return `${ids.length} record(s) (${shown}${ids.length > 10 ? ', ...' : ''})`;
}
// #endregion reconciler

// Touch the heartbeat file every HEARTBEAT_INTERVAL_MS, but only while the
// connection to Redis is up: a worker that has lost Redis, or hangs, stops
// touching it, and its healthcheck turns it unhealthy.
const heartbeat = setInterval(() => {
  if (up) beat(config.heartbeatFile).catch(() => {});
}, HEARTBEAT_INTERVAL_MS);

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
  clearTimeout(nextPass);
  // Without Redis no job can be finished (finishing is a Redis command):
  // then close at once; the jobs' locks run out and another worker redoes them.
  await worker.close(up !== true);
  // A pass in the middle of its work is cut off (its commands fail at
  // once, even those that wait for Redis): the next pass does it again.
  await queue.close();
  reconcilerRedis.disconnect();
  await pass;
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
pass = reconcileNow();
