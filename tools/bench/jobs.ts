// 2. The worker: stage 05's web and worker processes with real Redis and
// PostgreSQL. Archive jobs per second for 1 and 2 workers and two
// WORKER_CONCURRENCY settings, BullMQ with a job that does nothing in the same
// settings (the baseline), and the time from POST /records to archived.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createArchiveQueue } from '../../stages/05-worker/src/queue.ts';
import { createMigratedDatabase } from '../../testing/isolation.ts';
import { runStage, type StageProcess } from '../../testing/stage-process.ts';
import type { BenchContext } from './context.ts';
import { runLoad } from './load.ts';
import { ms, rate } from './render.ts';
import type { JobKind, JobLatency, JobRun, JobsSection } from './report.ts';
import { round, spread } from './stats.ts';

const STAGE = '05-worker';
const WORKER_READY = /worker: taking jobs from the "[\w-]+" queue/;
const NOOP_QUEUE = 'bench-noop';
const NOOP_WORKER = join(import.meta.dirname, 'noop-worker.ts');
/** A record like one a user would store: a few hundred bytes of JSON to read, compress and write. */
const RECORD = {
  title: 'A record to archive',
  tags: ['bench', 'workshop', 'archive'],
  text: 'The quick brown fox jumps over the lazy dog. '.repeat(6),
  count: 42,
};
/** The compose file's settings (ARCHIVE_ATTEMPTS, ARCHIVE_BACKOFF_MS). */
const RETRY = { attempts: 5, backoffMs: 1000 };
/** Longest wait for one batch of jobs: a bound, not an expectation. */
const BATCH_TIMEOUT_MS = 180_000;

export function jobsSettings(quick: boolean) {
  // Workers × WORKER_CONCURRENCY.
  const configs = [
    [1, 1],
    [1, 4],
    [2, 1],
    [2, 4],
  ];
  return quick
    ? { configs, jobs: 100, noopJobs: 300, latencyRate: 20, latencyS: 2 }
    : { configs, jobs: 2000, noopJobs: 10_000, latencyRate: 100, latencyS: 8 };
}

export async function benchJobs(ctx: BenchContext): Promise<JobsSection> {
  const s = jobsSettings(ctx.quick);
  const log = (text: string) => ctx.progress('jobs', text);
  const { redisUrl } = await ctx.servers();
  const queueUrl = `${redisUrl}/2`;

  const database = await createMigratedDatabase(STAGE);
  ctx.onCleanup(() => database.drop());
  const scratch = mkdtempSync(join(tmpdir(), 'workshop-bench-jobs-'));
  ctx.onCleanup(() => rmSync(scratch, { recursive: true, force: true }));
  // One folder for all workers, like the `archive` volume that compose gives them all.
  const archiveDir = join(scratch, 'archive');
  mkdirSync(archiveDir);

  const env = { REDIS_URL: queueUrl, DATABASE_URL: database.url };
  const web = await runStage(STAGE, { env: { ...env, PORT: '0' } });
  ctx.onCleanup(() => web.stop());

  // The stage's own queue code, for the archive queue and its job options;
  // the no-op queue gets the same options.
  const redis = new Redis(queueUrl, { maxRetriesPerRequest: null });
  const archive = createArchiveQueue(redis, RETRY).queue;
  const noop = new Queue(NOOP_QUEUE, { connection: redis, defaultJobOptions: archive.defaultJobOptions });
  ctx.onCleanup(async () => {
    await Promise.all([archive.close(), noop.close()]);
    await redis.quit();
  });

  let workerCount = 0;
  const startWorkers = (kind: JobKind, workers: number, concurrency: number) =>
    Promise.all(
      Array.from({ length: workers }, () => {
        workerCount++;
        return runStage(STAGE, {
          script: kind === 'archive' ? 'src/worker.ts' : NOOP_WORKER,
          ready: WORKER_READY,
          env: {
            ...env,
            WORKER_CONCURRENCY: String(concurrency),
            ARCHIVE_DIR: archiveDir,
            WORKER_HEARTBEAT_FILE: join(scratch, `heartbeat-${workerCount}`),
            // The compose file's settings.
            WORKER_LOCK_DURATION_MS: '10000',
            WORKER_STALLED_INTERVAL_MS: '5000',
            QUEUE: NOOP_QUEUE,
          },
        });
      }),
    );

  const runs: JobRun[] = [];
  for (const [workers = 1, concurrency = 1] of s.configs) {
    for (const kind of ['archive', 'noop'] as const) {
      const jobs = kind === 'archive' ? s.jobs : s.noopJobs;
      const queue = kind === 'archive' ? archive : noop;
      const fill = kind === 'archive' ? () => postRecords(web.url, jobs) : () => addNoopJobs(noop, jobs);
      const run = await timeBatch({
        queue,
        jobs,
        fill,
        start: () => startWorkers(kind, workers, concurrency),
      });
      runs.push({ kind, workers, concurrency, ...run });
      log(
        `${kind === 'archive' ? 'archive' : 'no-op  '} jobs, ${workers} worker(s) × concurrency ${concurrency}: ` +
          `${rate(run.jobsPerSecond)} jobs/s (${jobs} jobs in ${run.seconds.toFixed(2)} s)` +
          (run.failed > 0 ? `, ${run.failed} failed` : ''),
      );
    }
  }

  const latency = await postToArchived({
    url: web.url,
    databaseUrl: database.url,
    queue: archive,
    start: () => startWorkers('archive', 2, 2),
    rate: s.latencyRate,
    seconds: s.latencyS,
  });
  log(
    `POST /records → archived, ${latency.records} records at ${latency.rate}/s, 2 workers × 2: ` +
      `p50 ${ms(latency.p50Ms)}, p99 ${ms(latency.p99Ms)}, max ${ms(latency.maxMs)}`,
  );
  return {
    runs,
    latency,
    notes: [
      'Redis and PostgreSQL are the throwaway servers of the tests (testing/services.ts): PostgreSQL ' +
        'runs with fsync=off and Redis without appendonly, where compose runs PostgreSQL with fsync and ' +
        'Redis with appendonly. The archive files are fsynced into a temporary folder on the host disk.',
    ],
  };
}

/** N records through web's POST /records, each of which queues its archive job. */
async function postRecords(url: string, count: number): Promise<void> {
  const result = await runLoad({
    url: `${url}/records`,
    method: 'POST',
    json: RECORD,
    connections: 8,
    seconds: 120,
    maxRequests: count,
  });
  if (result.ok !== count) {
    throw new Error(
      `POST /records: ${result.ok} of ${count} records stored (${result.non2xx} refused, ${result.errors} failed)`,
    );
  }
}

async function addNoopJobs(queue: Queue, count: number): Promise<void> {
  for (let first = 1; first <= count; first += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - first + 1) }, (_, i) => ({
      name: 'noop',
      data: { recordId: first + i },
      opts: { jobId: `noop-${first + i}` },
    }));
    await queue.addBulk(batch);
  }
}

/**
 * Empties the queue and pauses it, queues the jobs, starts the workers, and
 * only then resumes it: the time runs from the resume to the completion of
 * the last job (BullMQ's finishedOn), with every worker ready from the start.
 */
async function timeBatch(o: {
  queue: Queue;
  jobs: number;
  fill: () => Promise<void>;
  start: () => Promise<StageProcess[]>;
}): Promise<Omit<JobRun, 'kind' | 'workers' | 'concurrency'>> {
  await o.queue.obliterate({ force: true });
  await o.queue.pause();
  await o.fill();
  const workers = await o.start();
  try {
    const resumed = Date.now();
    await o.queue.resume();
    const deadline = performance.now() + BATCH_TIMEOUT_MS;
    let done = 0;
    let failed = 0;
    while (done + failed < o.jobs) {
      if (performance.now() > deadline) {
        throw new Error(`${o.queue.name}: ${done} of ${o.jobs} jobs done after ${BATCH_TIMEOUT_MS / 1000} s`);
      }
      await sleep(20);
      [done, failed] = await Promise.all([o.queue.getCompletedCount(), o.queue.getFailedCount()]);
      await throwIfRetrying(o.queue);
    }
    const [last] = await o.queue.getJobs(['completed'], 0, 0, false);
    const seconds = ((last?.finishedOn ?? Date.now()) - resumed) / 1000;
    return { jobs: o.jobs, seconds: round(seconds, 3), jobsPerSecond: round(done / seconds, 1), failed };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** A job that failed once will fail again, with backoff: a broken setup, not a measurement. */
async function throwIfRetrying(queue: Queue): Promise<void> {
  const [job] = await queue.getJobs(['delayed', 'failed'], 0, 0);
  if (job) throw new Error(`${queue.name}: job ${job.id} failed: ${job.failedReason || job.stacktrace?.[0]}`);
}

/**
 * Records sent at a fixed rate to running workers; for each, the time from
 * sending POST /records to the archived_at that the worker wrote. Both clocks
 * are this machine's.
 */
async function postToArchived(o: {
  url: string;
  databaseUrl: string;
  queue: Queue;
  start: () => Promise<StageProcess[]>;
  rate: number;
  seconds: number;
}): Promise<JobLatency> {
  await o.queue.obliterate({ force: true });
  const workers = await o.start();
  try {
    const count = o.rate * o.seconds;
    const sent = new Map<number, number>();
    const requests: Promise<void>[] = [];
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const due = started + (i * 1000) / o.rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const at = performance.timeOrigin + performance.now();
      requests.push(
        fetch(`${o.url}/records`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(RECORD),
          signal: AbortSignal.timeout(5000),
        }).then(async (res) => {
          const body = (await res.json()) as { id?: number; error?: string };
          if (res.status !== 201 || body.id === undefined)
            throw new Error(`POST /records: ${res.status} ${body.error}`);
          sent.set(body.id, at);
        }),
      );
    }
    await Promise.all(requests);
    const deadline = performance.now() + BATCH_TIMEOUT_MS;
    while ((await o.queue.getCompletedCount()) < count) {
      if (performance.now() > deadline)
        throw new Error(`not every record was archived within ${BATCH_TIMEOUT_MS / 1000} s`);
      await throwIfRetrying(o.queue);
      await sleep(50);
    }
    const client = new pg.Client({ connectionString: o.databaseUrl });
    await client.connect();
    const { rows } = await client
      .query<{ id: number; archived_at: Date | null }>(
        'SELECT id, archived_at FROM records WHERE id = ANY($1)',
        [[...sent.keys()]],
      )
      .finally(() => client.end());
    const times = rows.map((row) => {
      if (!row.archived_at) throw new Error(`record ${row.id} has no archived_at`);
      return row.archived_at.getTime() - (sent.get(row.id) as number);
    });
    const { p50, p99, max } = spread(times);
    return {
      workers: workers.length,
      concurrency: 2,
      records: times.length,
      rate: o.rate,
      p50Ms: round(p50, 1),
      p99Ms: round(p99, 1),
      maxMs: round(max, 1),
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}
