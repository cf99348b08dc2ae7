import { Router } from 'express';
import { Op } from 'sequelize';
import type { Database, RecordAttributes, RecordRow } from './db.ts';
import { HttpError } from './errors.ts';
import { type ArchiveQueue, archiveJobId } from './queue.ts';
import { parseRecord, readBody, requireJson } from './record-body.ts';

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 100;
/** The largest id a `serial` column can hold: no record has a bigger one. */
const MAX_ID = 2_147_483_647;

/**
 * POST /records, GET /records and GET /records/:id, stored in Postgres. Each
 * new record gets a job in the archive queue; GET /records/:id/archive
 * (src/records-archive.ts) tells how that job is doing.
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
    const queued = await queueArchive(archive, record.id);
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
    res.json(show(await findRecord(db, recordId(req.params.id))));
  });

  return router;
}
/**
 * Adds the record's archive job, best effort: false when Redis is down or
 * does not answer within QUEUE_WAIT_MS. Then the worker's reconciler
 * (src/worker-reconciler.ts) adds it later; and should this add reach Redis late
 * after all, the job id makes it the same job.
 */
async function queueArchive(archive: ArchiveQueue, id: number): Promise<boolean> {
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

/** The id of /records/:id; a 400 that says what an id looks like, or a 404 for one past any record. */
export function recordId(text: string): number {
  if (!/^[1-9]\d*$/.test(text)) {
    throw new HttpError(400, `A record id is a whole number from 1 up, like /records/1; got "${text}"`);
  }
  if (Number(text) > MAX_ID) throw new HttpError(404, `Record ${text} not found`);
  return Number(text);
}

/** The record, or a 404; a 503 naming db when Postgres is away. */
export async function findRecord(db: Database, id: number): Promise<RecordRow> {
  const record = await db.Record.findByPk(id).catch(db.unavailable);
  if (!record) throw new HttpError(404, `Record ${id} not found`);
  return record;
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
