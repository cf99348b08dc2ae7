import { Router } from 'express';
import { Op } from 'sequelize';
import type { Database, RecordAttributes, RecordRow } from './db.ts';
import { HttpError } from './errors.ts';
import { parseRecord, readBody, requireJson } from './record-body.ts';

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 100;
/** The largest id a `serial` column can hold: no record has a bigger one. */
const MAX_ID = 2_147_483_647;

/** POST /records, GET /records and GET /records/:id, stored in Postgres. */
export function recordsRouter(db: Database, bodyLimit: string): Router {
  const { Record } = db;
  const router = Router();

  router.post('/records', requireJson, readBody(bodyLimit), async (req, res) => {
    const data = parseRecord(req.body);
    const record = show(await Record.create({ data }).catch(db.unavailable));
    res.status(201).location(`/records/${record.id}`).json(record);
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
    const id = req.params.id;
    if (!/^[1-9]\d*$/.test(id)) {
      throw new HttpError(400, `A record id is a whole number from 1 up, like /records/1; got "${id}"`);
    }
    const record = Number(id) <= MAX_ID ? await Record.findByPk(Number(id)).catch(db.unavailable) : null;
    if (!record) throw new HttpError(404, `Record ${id} not found`);
    res.json(show(record));
  });

  return router;
}

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
