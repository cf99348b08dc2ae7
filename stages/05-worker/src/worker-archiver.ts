import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError } from 'bullmq';
import type { Database } from './db.ts';
import type { ArchiveJob, ArchiveResult } from './queue.ts';
import { archiveFileName, compress, writeOnce } from './worker-archive-file.ts';

export interface ArchiverSettings {
  db: Database;
  /** ARCHIVE_DIR */
  archiveDir: string;
  /** WORKER_STEP_DELAY_MS: a pause before each step, to watch (or interrupt) a job. */
  stepDelayMs: number;
}

// #region archive
/**
 * What the worker does with one job: four steps, each reported as progress.
 * Every step may run again (a retry, or another worker after a crash), so
 * each one is safe to repeat: reading, compressing, writing a file that is
 * already there (which leaves it alone), and noting what is already noted.
 */
export function createArchiver({ db, archiveDir, stepDelayMs }: ArchiverSettings) {
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
    const written = await writeOnce(archiveDir, file, json, bytes);
    console.log(
      written
        ? `worker: record ${id}: wrote ${file} (${bytes.length} bytes)`
        : `worker: record ${id}: ${file} is already there, not written again`,
    );
    await job.updateProgress(75);

    await pause();
    // `archivedAt: null` in the condition: a second try keeps the first time.
    await db.Record.update(
      { archivedAt: new Date(), archiveFile: file },
      { where: { id, archivedAt: null } },
    );
    await job.updateProgress(100);

    return { file, bytes: bytes.length, written };
  };
}
// #endregion archive
