import type { Queue } from 'bullmq';
import { QueryTypes } from 'sequelize';
import type { Database } from './db.ts';
import { type ArchiveJob, type ArchiveJobData, type ArchiveResult, archiveJobId } from './queue.ts';

/**
 * Postgres is the source of truth, the queue is a hint. A record whose
 * archived_at is NULL waits for its archive, whatever Redis says; the job
 * that POST /records adds only tells a worker that it can start right away.
 * That job can be missing (the add failed or timed out, Redis restarted
 * empty, someone ran FLUSHALL) or can have given up (a dependency was down
 * for longer than its attempts last). The reconciler, run by every worker at
 * its start and every RECONCILE_INTERVAL_MS, walks through the waiting records
 * and asks the queue about each one's job:
 *
 * - none: add it, under its usual id `archive-<id>`;
 * - failed through an UnrecoverableError (the worker found that trying again
 *   cannot help, and BullMQ failed it at once): leave it failed, visible in
 *   the dashboard, to be looked at;
 * - failed otherwise, after using up its attempts: retry it, its attempts counted afresh;
 * - completed, and yet the record still waits: the job of another record with
 *   the same id, from before the database was emptied alone; replace it;
 * - waiting, delayed, active, or completed for this record: leave it alone.
 *
 * Several workers reconciling at the same time do no harm: BullMQ adds a job
 * id only once, and retries only a job that is still failed.
 */
export function createReconciler(db: Database, queue: Queue<ArchiveJobData, ArchiveResult>) {
  return async function reconcile(): Promise<ReconcileResult> {
    const result: ReconcileResult = { waiting: 0, added: [], retried: [], failedForGood: [] };
    // In batches of BATCH, by id: a backlog of any length is walked through
    // with bounded queries (and the partial index of migration 0003).
    let after = 0;
    for (;;) {
      const ids = await waitingRecords(db, after);
      for (const id of ids) {
        result.waiting++;
        const outcome = await reconcileOne(db, queue, id);
        if (outcome !== 'left') result[outcome].push(id);
      }
      if (ids.length < BATCH) return result;
      after = ids.at(-1) as number;
    }
  };
}

export interface ReconcileResult {
  /** How many records wait for their archive (older than MIN_AGE_SECONDS). */
  waiting: number;
  /** The records whose job was missing, and is added now. */
  added: number[];
  /** The records whose job had failed after all its attempts, and is retried now. */
  retried: number[];
  /** The records whose job failed through an UnrecoverableError, left failed. */
  failedForGood: number[];
}

const BATCH = 100;
/** Younger records are left alone: POST /records may be adding their job right now. */
const MIN_AGE_SECONDS = 5;

async function waitingRecords(db: Database, after: number): Promise<number[]> {
  // now() is Postgres's clock, the one created_at comes from.
  const rows = await db.sequelize.query<{ id: number }>(
    `SELECT id FROM records
     WHERE archived_at IS NULL AND id > $after AND created_at < now() - make_interval(secs => $age)
     ORDER BY id LIMIT $batch`,
    { bind: { after, age: MIN_AGE_SECONDS, batch: BATCH }, type: QueryTypes.SELECT },
  );
  return rows.map((row) => row.id);
}

async function reconcileOne(
  db: Database,
  queue: Queue<ArchiveJobData, ArchiveResult>,
  recordId: number,
): Promise<'added' | 'retried' | 'failedForGood' | 'left'> {
  const jobId = archiveJobId(recordId);
  const state = await queue.getJobState(jobId);
  if (state === 'unknown') {
    await queue.add('archive-record', { recordId }, { jobId });
    return 'added';
  }
  if (state === 'completed') {
    // A job completes only after it has set archived_at: read now, after the
    // state, a NULL means this job archived another record 7 (the queue kept
    // its jobs while the database lost its records). Its id must be freed.
    const record = await db.Record.findByPk(recordId, { attributes: ['archivedAt'] });
    if (!record || record.get('archivedAt') !== null) return 'left';
    // Another worker's reconciler may have replaced it a moment ago, and its
    // new job be in a worker's hands: BullMQ removes no locked job (0), and
    // it is left to that worker.
    if ((await queue.remove(jobId)) !== 1) return 'left';
    await queue.add('archive-record', { recordId }, { jobId });
    return 'added';
  }
  if (state !== 'failed') return 'left';
  const job = await queue.getJob(jobId);
  if (!job) return 'left';
  if (failedForGood(job)) return 'failedForGood';
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }).catch((err) => {
    // Another worker's reconciler (or the dashboard) was quicker: it is no longer failed.
    if (!/not in the failed state/i.test((err as Error).message)) throw err;
  });
  return 'retried';
}

/** The last error was an UnrecoverableError: BullMQ keeps each attempt's stack, whose first line names the class. */
function failedForGood(job: ArchiveJob): boolean {
  return job.stacktrace?.at(-1)?.startsWith('UnrecoverableError') ?? false;
}
