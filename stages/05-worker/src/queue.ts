import { type BackoffStrategy, type Job, type JobState, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';

// #region jobs
/** The one queue of this stage: web adds a job for each new record, the worker archives it. */
export const ARCHIVE_QUEUE = 'archive';

/** A job carries only the record's id: the worker reads the record itself, from Postgres. */
export interface ArchiveJobData {
  recordId: number;
}

/** What a finished job returns; BullMQ keeps it with the job, and the dashboard shows it. */
export interface ArchiveResult {
  file: string;
  bytes: number;
  /** False when the file was already there with the same content, and was left alone. */
  written: boolean;
}

export type ArchiveJob = Job<ArchiveJobData, ArchiveResult>;

/**
 * The job's id comes from the record's id. BullMQ adds a job only if no job
 * has its id yet: adding record 7's job twice (a retried request, a client
 * that sends again) still leaves one job, `archive-7`.
 */
export function archiveJobId(recordId: number): string {
  return `archive-${recordId}`;
}
// #endregion jobs

/** Where a record's job is, as GET /records/:id/archive shows it. */
export interface JobStatus {
  /** BullMQ's state of the job, or 'not-queued': waiting for its archive, with no job yet. */
  state: JobState | 'unknown' | 'not-queued';
  /** 0 to 100, set by the worker at each step. */
  progress: number;
  /** How many times a worker has tried the job so far (null: nobody knows any more). */
  attemptsMade: number | null;
  /** The error of the last attempt that failed, if one did. */
  error: string | null;
  /** The archive file, once the job has completed. */
  file: string | null;
}

/** The queue as web uses it: add a record's job, and ask how it is doing. */
export interface ArchiveQueue {
  readonly queue: Queue<ArchiveJobData, ArchiveResult>;
  /** Whether jobs can be added right now: false while the connection to Redis is down. */
  isUp(): boolean;
  /** Adds the job that archives the record and resolves with its id. */
  add(recordId: number): Promise<string>;
  /** The record's job, or undefined when Redis does not have it (any more). */
  status(recordId: number): Promise<JobStatus | undefined>;
  close(): Promise<void>;
}

export interface RetrySettings {
  /** How often a job is tried before it counts as failed (ARCHIVE_ATTEMPTS). */
  attempts: number;
  /** The wait before the first retry; it doubles with each retry (ARCHIVE_BACKOFF_MS). */
  backoffMs: number;
}

// #region retries
/** The name of this stage's backoff, which BullMQ does not know: the worker brings it (src/worker.ts). */
export const CAPPED_BACKOFF = 'capped-exponential';

/**
 * The options every archive job gets, whoever adds it: web (POST /records)
 * or the worker's reconciler (src/worker-reconciler.ts).
 */
export function archiveJobOptions(retry: RetrySettings): JobsOptions {
  return {
    attempts: retry.attempts,
    // 1 s, 2 s, 4 s, 8 s, ... up to the worker's ARCHIVE_BACKOFF_MAX_MS: a
    // dependency that is down gets time to come back, and once it is back,
    // no job sleeps for an hour before it notices.
    backoff: { type: CAPPED_BACKOFF, delay: retry.backoffMs },
    // Completed jobs go after a day (Postgres remembers the archive for good);
    // failed ones stay until someone has looked at them.
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: false,
  };
}

/**
 * The wait before retry number `attemptsMade`: the job's delay, doubled with
 * each retry, never longer than `maxMs`. BullMQ's own 'exponential' has no
 * cap: its 20th retry would wait six days.
 */
export function cappedBackoff(maxMs: number): BackoffStrategy {
  return (attemptsMade, _type, _err, job) => {
    const { backoff } = job?.opts ?? {};
    const delay = typeof backoff === 'object' ? (backoff.delay ?? 0) : (backoff ?? 0);
    return Math.min(delay * 2 ** (attemptsMade - 1), maxMs);
  };
}
// #endregion retries

// #region queue
/**
 * The producer side. It shares web's one Redis connection (src/redis.ts), whose
 * settings are what BullMQ recommends for a Queue: no offline queue and no
 * retries of a command, so that adding a job during an outage fails at once
 * (and the request gets its answer) instead of waiting for Redis to come back.
 */
export function createArchiveQueue(redis: Redis, retry: RetrySettings): ArchiveQueue {
  const queue = new Queue<ArchiveJobData, ArchiveResult>(ARCHIVE_QUEUE, {
    connection: redis,
    // The worker checks the Redis version and settings when it starts; web
    // skips that, so that nothing but the job itself waits on Redis.
    skipVersionCheck: true,
    // Every job gets these options from here, so they are set in one place.
    defaultJobOptions: archiveJobOptions(retry),
  });
  // The Queue repeats the connection's errors; redis.ts already logs the outage once.
  queue.on('error', () => {});

  return {
    queue,
    isUp: () => redis.status === 'ready',
    add: async (recordId) => {
      const job = await queue.add('archive-record', { recordId }, { jobId: archiveJobId(recordId) });
      return job.id ?? archiveJobId(recordId);
    },
    status: async (recordId) => {
      // The state first: a job read after it is at least as far along (once
      // "completed", its attempts and result are final).
      const state = await queue.getJobState(archiveJobId(recordId));
      const job = await queue.getJob(archiveJobId(recordId));
      if (!job) return undefined;
      return {
        state,
        progress: typeof job.progress === 'number' ? job.progress : 0,
        attemptsMade: job.attemptsMade,
        error: job.failedReason || null,
        file: job.returnvalue?.file ?? null,
      };
    },
    close: () => queue.close(),
  };
}
// #endregion queue
