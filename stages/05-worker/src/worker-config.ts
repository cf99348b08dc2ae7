// The worker's settings (src/worker.ts, and src/worker-healthcheck.ts),
// read the way config.ts reads the app's.
import { orExit, readDatabaseUrl, readInteger, readPath, readRedisUrl } from './config.ts';

// #region worker-config
/** The settings of the worker (src/worker.ts), which archives the records. */
export interface WorkerConfig {
  redisUrl: string;
  databaseUrl: string;
  /** The folder that the archive files go to: the `archive` volume in compose. */
  archiveDir: string;
  /** How many jobs one worker process works on at the same time. */
  concurrency: number;
  /**
   * A pause before each step of a job, 0 in real life. A teaching knob: with
   * 2000 you can watch the progress climb, or stop a worker in the middle of a job.
   */
  stepDelayMs: number;
  /** How long a job's lock lasts; the worker renews it every half of that while it works. */
  lockDurationMs: number;
  /** How often the worker looks for jobs whose lock ran out: their worker is gone. */
  stalledIntervalMs: number;
  /** The file the worker touches while it is connected; its healthcheck reads the time of it. */
  heartbeatFile: string;
  /**
   * ARCHIVE_ATTEMPTS and ARCHIVE_BACKOFF_MS, as web reads them: the reconciler
   * adds jobs too, and they must get the same options as web's.
   */
  archiveAttempts: number;
  archiveBackoffMs: number;
  /** The longest wait between two tries of a job: the doubling stops there. */
  archiveBackoffMaxMs: number;
  /** How often the reconciler looks for records that wait for their archive and have no job that will run. */
  reconcileIntervalMs: number;
}
// #endregion worker-config

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return {
    redisUrl: readRedisUrl(env),
    databaseUrl: readDatabaseUrl(env),
    archiveDir: readPath(env, 'ARCHIVE_DIR', '/archive'),
    concurrency: readInteger(env, 'WORKER_CONCURRENCY', 2, 1, 100),
    stepDelayMs: readInteger(env, 'WORKER_STEP_DELAY_MS', 0, 0, 600_000),
    lockDurationMs: readInteger(env, 'WORKER_LOCK_DURATION_MS', 10_000, 1000, 600_000),
    stalledIntervalMs: readInteger(env, 'WORKER_STALLED_INTERVAL_MS', 5000, 500, 600_000),
    heartbeatFile: readPath(env, 'WORKER_HEARTBEAT_FILE', '/tmp/worker-heartbeat'),
    archiveAttempts: readInteger(env, 'ARCHIVE_ATTEMPTS', 20, 1, 100),
    archiveBackoffMs: readInteger(env, 'ARCHIVE_BACKOFF_MS', 1000, 0, 3_600_000),
    archiveBackoffMaxMs: readInteger(env, 'ARCHIVE_BACKOFF_MAX_MS', 30_000, 0, 3_600_000),
    reconcileIntervalMs: readInteger(env, 'RECONCILE_INTERVAL_MS', 10_000, 100, 3_600_000),
  };
}

/** For the worker, src/worker.ts, and its healthcheck. */
export function loadWorkerConfigOrExit(): WorkerConfig {
  return orExit(loadWorkerConfig);
}
