// Stage 03: records in PostgreSQL, a one-shot migrate service, and a named
// volume for the data. Everything of 02 still holds.
import { randomUUID } from 'node:crypto';
import { describe, expectEqual, expectJsonError, expectJsonObject, expectStatus, fail } from '../assert.ts';
import { dependencyStopped, hostileRequests } from '../fault-steps.ts';
import type { Http, HttpResponse } from '../http.ts';
import { containersOf, expectCompleted, expectHealthy, mountsOf } from '../services.ts';
import type { StageChecks } from '../types.ts';

const DB_HINT =
  'Records live in PostgreSQL (the db service); a 503 means web cannot reach it. `docker compose ps` ' +
  '(is db healthy, did migrate exit 0?), `docker compose logs db migrate web`.';

const BAD_INPUT_HINT =
  'Bad input is the client\'s mistake: a 4xx with {"error": "<what to fix>"}, never a 500. ' +
  'See the body parser in src/app.ts and the error handler in src/errors.ts; `docker compose logs web`.';

export interface Record_ {
  id: number;
  data: unknown;
}

/** POSTs a record with data nobody else has, checks the 201 and its Location, and returns it. */
export async function createRecord(http: Http): Promise<Record_> {
  return (await postRecord(http)).record;
}

/** createRecord(), with the answer to the POST (its headers: X-Served-By from stage 04 on). */
export async function postRecord(http: Http): Promise<{ record: Record_; res: HttpResponse }> {
  const data = { from: 'npm run check', nonce: randomUUID(), items: [1, 2, 3] };
  const res = await http.postJson('/records', data);
  if (res.status === 404) {
    fail(`POST /records answered ${describe(res)}: the app that answers has no records; is it stage 03?`);
  }
  expectStatus(res, 201);
  const body = expectJsonObject(res);
  if (!Number.isInteger(body.id) || (body.id as number) < 1) {
    fail(`POST /records answered ${describe(res)}, expected a positive whole number as "id"`);
  }
  expectEqual(body.data, data, 'the "data" of the created record');
  const location = res.headers.get('location');
  if (location !== `/records/${body.id}`) {
    fail(`POST /records answered Location: ${location}, expected /records/${body.id}`);
  }
  return { record: { id: body.id as number, data }, res };
}

/** GET /records/:id answers the record as it was created; returns the answer. */
export async function expectRecord(http: Http, record: Record_): Promise<HttpResponse> {
  const res = await http.get(`/records/${record.id}`);
  expectStatus(res, 200);
  expectEqual(expectJsonObject(res), record, `GET /records/${record.id}`);
  return res;
}

export default {
  checks: [
    {
      id: 'records-create',
      logs: ['web', 'db'],
      name: 'POST /records creates a record: 201, its id, a Location header',
      hint: DB_HINT,
      async run({ http }) {
        await createRecord(http);
      },
    },
    {
      id: 'records-read',
      logs: ['web', 'db'],
      name: 'GET /records/:id gives the record back as it was sent',
      hint: DB_HINT,
      async run({ http }) {
        await expectRecord(http, await createRecord(http));
      },
    },
    {
      id: 'records-list',
      logs: ['web', 'db'],
      name: 'GET /records lists a new record',
      hint: `The list is ordered by id and pages with ?after=<last id>&limit=N. ${DB_HINT}`,
      async run({ http }) {
        const record = await createRecord(http);
        const res = await http.get(`/records?after=${record.id - 1}&limit=1`);
        expectStatus(res, 200);
        const body = expectJsonObject(res);
        if (!Array.isArray(body.results)) fail(`GET /records answered ${describe(res)}, expected "results"`);
        expectEqual(body.results[0], record, `the first result after id ${record.id - 1}`);
      },
    },
    {
      id: 'records-malformed-json',
      logs: ['web'],
      name: 'POST /records with malformed JSON answers 400 with a JSON error',
      hint: BAD_INPUT_HINT,
      async run({ http }) {
        const body = '{"name": "unfinished';
        const res = await http.request('POST', '/records', {
          body,
          headers: { 'content-type': 'application/json' },
        });
        expectJsonError(res, 400);
      },
    },
    {
      id: 'records-not-an-object',
      logs: ['web'],
      name: 'POST /records with JSON that is not an object answers 422',
      hint: BAD_INPUT_HINT,
      async run({ http }) {
        for (const value of [[1, 2, 3], 'text', 42]) {
          expectJsonError(await http.postJson('/records', value), 422);
        }
      },
    },
    {
      id: 'records-content-type',
      logs: ['web'],
      name: 'POST /records that is not application/json answers 415',
      hint: BAD_INPUT_HINT,
      async run({ http }) {
        const res = await http.request('POST', '/records', {
          body: 'name=check',
          headers: { 'content-type': 'text/plain' },
        });
        expectJsonError(res, 415);
      },
    },
    {
      id: 'records-unknown-id',
      logs: ['web', 'db'],
      name: 'GET /records/<unknown id> answers 404 with a JSON error',
      hint: `An id that no record has is a 404, not a 500. ${DB_HINT}`,
      async run({ http }) {
        const id = 2_147_483_000;
        const message = expectJsonError(await http.get(`/records/${id}`), 404);
        if (!/not found/i.test(message) || !message.includes(String(id))) {
          fail(`the 404 says "${message}", expected "Record ${id} not found"`);
        }
      },
    },
    {
      id: 'healthz-db',
      logs: ['web', 'db'],
      name: 'GET /healthz reports db "up"',
      hint: DB_HINT,
      async run({ http }) {
        const res = await http.get('/healthz');
        const body = expectJsonObject(res);
        const db = (body.dependencies as Record<string, unknown> | undefined)?.db;
        if (db !== 'up') fail(`GET /healthz answered ${describe(res)}, expected "db": "up"`);
      },
    },
    {
      id: 'migrate-done',
      logs: ['migrate', 'db'],
      name: 'the migrate service ran to its end (exit code 0)',
      docker: true,
      hint:
        'migrate creates the tables before web starts. `docker compose logs migrate` shows why it failed; ' +
        'it needs db healthy and the same DATABASE_URL as web.',
      async run({ compose }) {
        await expectCompleted(compose, 'migrate');
      },
    },
    {
      id: 'db-healthy',
      logs: ['db'],
      name: 'the db service runs and is healthy',
      docker: true,
      hint: '`docker compose ps`, `docker compose logs db` (a bad POSTGRES_PASSWORD or a volume from another version?).',
      async run({ compose }) {
        await expectHealthy(compose, 'db');
      },
    },
    {
      id: 'db-volume',
      logs: ['db'],
      name: 'db keeps its data in the named volume db-data',
      docker: true,
      hint:
        'compose.yaml mounts the volume db-data at /var/lib/postgresql/data in db; without it the records ' +
        'are gone with the container. `docker volume ls`, `docker compose config`.',
      async run({ compose }) {
        const [db] = await containersOf(compose, 'db');
        const mounts = db ? await mountsOf(db) : [];
        const data = mounts.find((m) => m.Destination === '/var/lib/postgresql/data');
        const expected = `${compose.project}_db-data`;
        if (data?.Type !== 'volume' || data.Name !== expected) {
          const seen = data ? `${data.Type} ${data.Name ?? data.Source}` : 'nothing';
          fail(`/var/lib/postgresql/data in db is ${seen}, expected the volume ${expected}`);
        }
      },
    },
  ],
  verify: {
    extras: [
      {
        id: 'records-survive-down',
        logs: ['db', 'migrate', 'web'],
        name: 'a record survives `docker compose down` and `up` (the volume keeps it)',
        // down and up, each bounded by compose's own deadlines: far more than a check's 30 s on a busy machine.
        timeoutMs: 300_000,
        hint:
          'down without -v keeps named volumes; the data must be in db-data, not in the container. ' +
          '`docker compose logs db migrate` (migrate must not drop what is there).',
        async run(ctx) {
          const record = await createRecord(ctx.http);
          await ctx.down();
          await ctx.up();
          await expectRecord(ctx.http, record);
        },
      },
      // The fault suite (tools/check/fault-steps.ts): what applies from stage 03 on.
      hostileRequests({ stage: '03', parser: false }),
      dependencyStopped({ stage: '03', service: 'db', outageMs: 30_000 }),
      dependencyStopped({ stage: '03', service: 'redis', outageMs: 20_000, visits: true }),
    ],
  },
} satisfies StageChecks;
