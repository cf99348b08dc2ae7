import { Router } from 'express';
import { Op } from 'sequelize';
import type { Database, RecordAttributes, RecordRow } from './db.ts';
import { HttpError } from './errors.ts';
import { type ArchiveQueue, archiveJobId, type JobStatus } from './queue.ts';
import { parseRecord, readBody, requireJson } from './record-body.ts';
import { redisUnavailable } from './redis.ts';

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 100;
/** The largest id a `serial` column can hold: no record has a bigger one. */
const MAX_ID = 2_147_483_647;

/**
 * POST /records, GET /records and GET /records/:id, stored in Postgres. Each
 * new record gets a job in the archive queue; GET /records/:id/archive tells
 * how that job is doing.
 */
export function recordsRouter(db: Database, archive: ArchiveQueue, bodyLimit: string): Router {
  const { Record } = db;
  const router = Router();

  router.post('/records', requireJson, readBody(bodyLimit), async (req, res) => {
    const data = parseRecord(req.body);
    // One INSERT, committed: the record is stored, and its archived_at is
    // NULL, which means "waiting for its archive". Both or neither, by
    // construction. From here on nothing takes the record back.
    const row = await Record.create({ data }).catch(db.unavailable);
    const record = show(row);
    // Then the job, as a hint that a worker can start now. Stored first,
    // queued second: a worker may take the job the moment it is added, and
    // must find the record in Postgres by then.
    const queued = await queueArchive(record.id);
    // 201: stored, and its archive will follow, queued now or by the reconciler.
    res
      .status(201)
      .location(`/records/${record.id}`)
      .json({
        ...record,
        archive: {
          jobId: archiveJobId(record.id),
          status: `/records/${record.id}/archive`,
          queued,
          ...(queued ? {} : { note: NOT_QUEUED }),
        },
      });
  });

  /**
   * Adds the record's archive job, best effort: false when Redis is down or
   * does not answer within QUEUE_WAIT_MS. Then the worker's reconciler
   * (src/worker-reconciler.ts) adds it later; and should this add reach Redis late
   * after all, the job id makes it the same job.
   */
  async function queueArchive(id: number): Promise<boolean> {
    // Down: do not even try (a Queue that never had its connection would wait for it).
    if (!archive.isUp()) return false;
    let timer: NodeJS.Timeout | undefined;
    const tooLate = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${QUEUE_WAIT_MS} ms`)), QUEUE_WAIT_MS);
    });
    try {
      await Promise.race([archive.add(id), tooLate]);
      return true;
    } catch (err) {
      const reason = (err as Error).message;
      console.warn(`records: record ${id} is stored, its archive job not queued yet: ${reason}`);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  router.get('/records', async (req, res) => {
    const limit = readWholeNumber(req.query.limit, 'limit', `a whole number from 1 to ${MAX_PAGE_SIZE}`, {
      fallback: DEFAULT_PAGE_SIZE,
      min: 1,
      max: MAX_PAGE_SIZE,
    });
    const after = readWholeNumber(
      req.query.after,
      'after',
      'the id of the last record of the previous page',
      {
        fallback: 0,
        min: 0,
        max: Number.MAX_SAFE_INTEGER,
      },
    );
    // One row more than the page holds tells whether there is a next page.
    const rows = await Record.findAll({
      where: { id: { [Op.gt]: after } },
      order: [['id', 'ASC']],
      limit: limit + 1,
    }).catch(db.unavailable);
    const results = rows.slice(0, limit).map(show);
    const next = rows.length > limit ? `/records?after=${results[limit - 1].id}&limit=${limit}` : null;
    res.json({ results, next });
  });

  router.get('/records/:id', async (req, res) => {
    res.json(show(await findRecord(recordId(req.params.id))));
  });

  async function findRecord(id: number): Promise<RecordRow> {
    const record = await Record.findByPk(id).catch(db.unavailable);
    if (!record) throw new HttpError(404, `Record ${id} not found`);
    return record;
  }

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
    const { archivedAt, archiveFile } = (await findRecord(id)).get();
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

/** The id of /records/:id; a 400 that says what an id looks like, or a 404 for one past any record. */
function recordId(text: string): number {
  if (!/^[1-9]\d*$/.test(text)) {
    throw new HttpError(400, `A record id is a whole number from 1 up, like /records/1; got "${text}"`);
  }
  if (Number(text) > MAX_ID) throw new HttpError(404, `Record ${text} not found`);
  return Number(text);
}

/**
 * How long a POST waits for its job to be added. Not Redis's command timeout
 * (seconds, for a busy laptop): the record is stored already, and a job that
 * comes late, or never, costs only a little time before it is archived. So
 * the client gets its 201 within about a second whatever Redis does.
 */
const QUEUE_WAIT_MS = 1000;

const NOT_QUEUED =
  'The record is stored. Redis is unavailable, so its archive job is not queued yet; a worker queues it once Redis is back';
const NOT_IN_QUEUE =
  'The record waits for its archive and the queue has no job for it (yet): a worker queues it on its next pass over the waiting records';

/** Only what the API promises: the id and the data, not the timestamps. */
function show(record: RecordRow): RecordAttributes {
  const { id, data } = record.get({ plain: true });
  return { id, data };
}

function readWholeNumber(
  value: unknown,
  name: string,
  what: string,
  { fallback, min, max }: { fallback: number; min: number; max: number },
): number {
  if (value === undefined) return fallback;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= min && number <= max)) {
    throw new HttpError(400, `${name} must be ${what}, got ${JSON.stringify(value)}`);
  }
  return number;
}
