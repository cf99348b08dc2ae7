import { Router } from 'express';
import type { Database } from './db.ts';
import { type ArchiveQueue, archiveJobId, type JobStatus } from './queue.ts';
import { findRecord, recordId } from './records.ts';
import { redisUnavailable } from './redis.ts';

/**
 * GET /records/:id/archive: how the archive of a record is doing. The queue
 * knows while the job is there (its state, its progress, its attempts);
 * Postgres knows the end of the story (archived_at, archive_file) for good.
 */
export function archiveStatusRouter(db: Database, archive: ArchiveQueue): Router {
  const router = Router();
  router.get('/records/:id/archive', async (req, res) => {
    const id = recordId(req.params.id);
    // The queue first, the record second. A job is completed only after its
    // last step has set archived_at, so the record read after it shows that.
    // (The other way round, a job finishing between the two reads would
    // show as completed with archivedAt null.)
    const queued = await archive.status(id).then(
      (job) => ({ job, err: undefined }),
      (err: unknown) => ({ job: undefined, err }),
    );
    const { archivedAt, archiveFile } = (await findRecord(db, id)).get();
    // Without Redis, Postgres still knows the end of the story.
    if (queued.err !== undefined && !archivedAt) redisUnavailable(queued.err);
    const { job } = queued;
    const status: JobStatus =
      job ??
      (archivedAt
        ? // The job is gone from Redis (completed jobs go after a day); the record remembers.
          { state: 'completed', progress: 100, attemptsMade: null, error: null, file: archiveFile }
        : // Waiting for its archive, with no job yet: the reconciler adds one.
          { state: 'not-queued', progress: 0, attemptsMade: null, error: NOT_IN_QUEUE, file: null });
    res.json({
      id,
      jobId: archiveJobId(id),
      ...status,
      file: archiveFile ?? status.file,
      archivedAt,
      source: job ? 'queue' : 'database',
    });
  });

  return router;
}

const NOT_IN_QUEUE =
  'The record waits for its archive and the queue has no job for it (yet): a worker queues it on its next pass over the waiting records';
