import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError } from 'bullmq';
import type { Database } from './db.ts';
import type { ArchiveJob, ArchiveResult } from './queue.ts';
import { archiveFileName, compress } from './worker-archive-file.ts';
import type { ArchiveStore } from './worker-archive-store.ts';

export interface ArchiverSettings {
  db: Database;
  /** Where the archives go: a store that every node reaches (src/worker-archive-store.ts). */
  store: ArchiveStore;
  /** WORKER_STEP_DELAY_MS: a pause before each step, to watch (or interrupt) a job. */
  stepDelayMs: number;
}

// #region archive
/**
 * What the worker does with one job: three steps, each reported as progress.
 * Every step may run again (a retry, or another worker after a crash), so
 * each one is safe to repeat: reading, compressing, and storing an archive
 * that is already stored (which leaves it, and its archived_at, alone).
 */
export function createArchiver({ db, store, stepDelayMs }: ArchiverSettings) {
  const pause = () => (stepDelayMs > 0 ? sleep(stepDelayMs) : Promise.resolve());

  return async (job: ArchiveJob): Promise<ArchiveResult> => {
    const { recordId } = job.data;

    await pause();
    const record = await db.Record.findByPk(recordId);
    // Trying again cannot make a record appear: fail at once, without retries.
    if (!record) throw new UnrecoverableError(`Record ${recordId} not found`);
    await job.updateProgress(25);

    await pause();
    const { id, data } = record.get();
    const json = JSON.stringify({ id, data });
    const bytes = await compress(json);
    await job.updateProgress(50);

    await pause();
    const file = archiveFileName(id);
    // The archive and archived_at in one transaction: both or neither.
    const written = await store.put(id, file, bytes);
    console.log(
      written
        ? `worker: record ${id}: stored ${file} (${bytes.length} bytes)`
        : `worker: record ${id}: ${file} is already stored, not stored again`,
    );
    await job.updateProgress(100);

    return { file, bytes: bytes.length, written };
  };
}
// #endregion archive
