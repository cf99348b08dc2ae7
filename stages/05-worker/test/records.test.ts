import { once } from 'node:events';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { createTestDatabase, type TestDatabase, testRedisUrl } from '../../../testing/isolation.ts';
import { createApp } from '../src/app.ts';
import { createDatabase, type Database } from '../src/db.ts';
import { createMigrator } from '../src/migrator.ts';
import { type ArchiveQueue, createArchiveQueue } from '../src/queue.ts';
import { closeRedis, createRedis } from '../src/redis.ts';

let testDatabase: TestDatabase;
let db: Database;
let redis: Redis;
let archive: ArchiveQueue;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  // The clients log their connection state; the tests do not need to see it.
  jest.spyOn(console, 'log').mockImplementation(() => {});
  testDatabase = await createTestDatabase();
  db = createDatabase(testDatabase.url);
  await createMigrator(db.sequelize).up();
  redis = createRedis(await testRedisUrl());
  await once(redis, 'ready');
  archive = createArchiveQueue(redis, { attempts: 1, backoffMs: 0 });
  app = createApp({ redis, db, archive });
});
afterAll(async () => {
  await archive.close();
  await closeRedis(redis);
  await db.close();
  await testDatabase.drop();
  jest.restoreAllMocks();
});
beforeEach(async () => {
  // Every test starts with no records, and the next id is 1 again; and with
  // no jobs, since the jobs' ids come from the records' ids.
  await db.Record.truncate({ restartIdentity: true });
  await redis.flushdb();
});

function create(data: unknown) {
  return request(app).post('/records').set('Content-Type', 'application/json').send(JSON.stringify(data));
}

describe('stage 05: the records API', () => {
  test('POST /records stores a JSON object: 201, its id, and where to find it', async () => {
    const res = await create({ title: 'Test' });
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers.location).toBe('/records/1');
    expect(res.body).toEqual({
      id: 1,
      data: { title: 'Test' },
      archive: { jobId: 'archive-1', status: '/records/1/archive', queued: true },
    });

    const second = await create({ title: 'Another' });
    expect(second.headers.location).toBe('/records/2');
    expect(second.body.id).toBe(2);
  });

  test('GET on the Location gives the record back exactly as it was sent', async () => {
    const data = {
      title: 'Tëst ✓',
      tags: ['a', 'b'],
      nested: { n: 1.5, ok: true, nothing: null },
      empty: {},
    };
    const created = await create(data);
    const res = await request(app).get(created.headers.location);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: created.body.id, data });
  });

  test('a Content-Type with a charset is fine', async () => {
    const res = await request(app)
      .post('/records')
      .set('Content-Type', 'application/json; charset=utf-8')
      .send('{"title": "Test"}');
    expect(res.status).toBe(201);
  });

  test('GET /records lists the records by id, and `next` is null when there is no more', async () => {
    await create({ n: 1 });
    await create({ n: 2 });
    const res = await request(app).get('/records');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      results: [
        { id: 1, data: { n: 1 } },
        { id: 2, data: { n: 2 } },
      ],
      next: null,
    });
  });

  test('GET /records with no records is an empty list', async () => {
    const res = await request(app).get('/records');
    expect(res.body).toEqual({ results: [], next: null });
  });

  test('paging: `next` leads through every record exactly once, in order', async () => {
    for (let n = 1; n <= 7; n++) await create({ n });
    const seen: number[] = [];
    const pages: string[] = [];
    let next: string | null = '/records?limit=3';
    for (let page = 0; next && page < 10; page++) {
      pages.push(next);
      const res = await request(app).get(next);
      expect(res.status).toBe(200);
      seen.push(...res.body.results.map((record: { data: { n: number } }) => record.data.n));
      next = res.body.next;
    }
    expect(pages).toEqual(['/records?limit=3', '/records?after=3&limit=3', '/records?after=6&limit=3']);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  test('paging: a page that holds exactly the last records has no `next`', async () => {
    for (let n = 1; n <= 4; n++) await create({ n });
    const res = await request(app).get('/records?after=2&limit=2');
    expect(res.body.results.map((r: { id: number }) => r.id)).toEqual([3, 4]);
    expect(res.body.next).toBeNull();
  });

  test('paging: 50 records a page unless asked otherwise, 100 at most', async () => {
    await db.Record.bulkCreate(Array.from({ length: 120 }, (_, i) => ({ data: { n: i + 1 } })));
    const first = await request(app).get('/records');
    expect(first.body.results).toHaveLength(50);
    expect(first.body.next).toBe('/records?after=50&limit=50');
    const big = await request(app).get('/records?limit=100');
    expect(big.body.results).toHaveLength(100);
    expect(big.body.next).toBe('/records?after=100&limit=100');
  });

  test('GET /records/:id of a record that does not exist is a 404 that names it', async () => {
    for (const id of ['7', '2147483647', '99999999999999999999']) {
      const res = await request(app).get(`/records/${id}`);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: `Record ${id} not found` });
    }
  });

  test.each(['abc', '0', '-1', '1.5', '01', '1e3', '%20'])(
    'GET /records/%s: a bad id is a 400',
    async (id) => {
      const res = await request(app).get(`/records/${id}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/^A record id is a whole number from 1 up, like \/records\/1; got "/);
    },
  );

  test.each([
    ['limit=0', 'limit must be a whole number from 1 to 100, got "0"'],
    ['limit=101', 'limit must be a whole number from 1 to 100, got "101"'],
    ['limit=ten', 'limit must be a whole number from 1 to 100, got "ten"'],
    ['limit=2.5', 'limit must be a whole number from 1 to 100, got "2.5"'],
    ['limit=', 'limit must be a whole number from 1 to 100, got ""'],
    ['limit=1&limit=2', 'limit must be a whole number from 1 to 100, got ["1","2"]'],
    ['after=-1', 'after must be the id of the last record of the previous page, got "-1"'],
    ['after=last', 'after must be the id of the last record of the previous page, got "last"'],
    [
      'after=99999999999999999999',
      'after must be the id of the last record of the previous page, got "99999999999999999999"',
    ],
  ])('GET /records?%s is a 400 that says what to fix', async (query, error) => {
    const res = await request(app).get(`/records?${query}`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error });
  });
});

describe('stage 05: bad bodies for POST /records', () => {
  function post(body: string, type = 'application/json') {
    return request(app).post('/records').set('Content-Type', type).send(body);
  }

  test('malformed JSON is a 400 that says so', async () => {
    for (const body of ['{"title": "Test"', "{'title': 'Test'}", '{title: "Test"}', '{"a": 1,}']) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/^The body is not valid JSON: /);
    }
  });

  test('an empty body is a 400', async () => {
    const res = await post('');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'The body is empty; send a JSON object like {"title": "Test"}' });
  });

  test.each([
    ['[1, 2]', 'an array'],
    ['"Test"', 'a string'],
    ['42', 'a number'],
    ['true', 'a boolean'],
    ['null', 'null'],
  ])('valid JSON that is not an object (%s) is a 422', async (body, kind) => {
    const res = await post(body);
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ error: `A record must be a JSON object like {"title": "Test"}, not ${kind}` });
  });

  test('a string with \\u0000 (which Postgres cannot store) is a 422, not a 500', async () => {
    const res = await post('{"title": "a\\u0000b"}');
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/cannot contain the character \\u0000/);
  });

  test.each([
    ['text/plain', '"text/plain"'],
    ['application/x-www-form-urlencoded', '"application/x-www-form-urlencoded"'],
    ['application/jsonp', '"application/jsonp"'],
  ])('Content-Type %s is a 415 that names the right one', async (type, shown) => {
    const res = await post('{"title": "Test"}', type);
    expect(res.status).toBe(415);
    expect(res.body).toEqual({
      error: `Send the record as JSON with the header Content-Type: application/json (got ${shown})`,
    });
  });

  test('no Content-Type at all is a 415 too', async () => {
    const res = await request(app).post('/records').send(Buffer.from('{"title": "Test"}'));
    expect(res.status).toBe(415);
    expect(res.body.error).toMatch(/\(got none\)$/);
  });

  test('a body over the limit (100kb by default) is a 413; just under it is fine', async () => {
    // {"text":"xxx…"}: 11 characters around the x's, so exactly `size` bytes.
    const filler = (size: number) => JSON.stringify({ text: 'x'.repeat(size - 11) });
    expect(filler(1000)).toHaveLength(1000);
    const tooBig = await post(filler(100 * 1024 + 1));
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toEqual({
      error: 'The body is larger than 100kb (BODY_LIMIT); send a smaller record',
    });
    expect((await post(filler(100 * 1024))).status).toBe(201);
  });

  test('the limit is BODY_LIMIT', async () => {
    const small = createApp({ redis, db, archive, bodyLimit: '1kb' });
    const res = await request(small)
      .post('/records')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ text: 'x'.repeat(2000) }));
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('The body is larger than 1kb (BODY_LIMIT); send a smaller record');
  });

  test('none of the bad bodies above was stored', async () => {
    await post('[1]');
    await post('{"a":');
    await post('{"a": 1}', 'text/plain');
    expect(await db.Record.count()).toBe(0);
  });
});

describe('stage 05: routes that do not exist', () => {
  test.each([
    ['get', '/nope'],
    ['get', '/records/1/extra'],
    ['delete', '/records/1'],
    ['put', '/records'],
  ] as const)('%s %s is a JSON 404 that names the route', async (method, path) => {
    const res = await request(app)[method](path);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: `No route for ${method.toUpperCase()} ${path}` });
  });
});
