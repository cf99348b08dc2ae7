import { once } from 'node:events';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { createTestDatabase, type TestDatabase, testRedisUrl } from '../../../testing/isolation.ts';
import { createApp } from '../src/app.ts';
import { createDatabase, type Database } from '../src/db.ts';
import { createMigrator } from '../src/migrator.ts';
import { type ArchiveQueue, createArchiveQueue } from '../src/queue.ts';
import { MAX_DEPTH } from '../src/record-body.ts';
import { closeRedis, createRedis } from '../src/redis.ts';

let testDatabase: TestDatabase;
let db: Database;
let redis: Redis;
let archive: ArchiveQueue;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
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
  await db.Record.truncate({ restartIdentity: true });
  await redis.flushdb();
});

function post(body: string | Buffer, type = 'application/json') {
  // serialize: the bytes go out as they are (supertest would turn a Buffer into JSON).
  return request(app)
    .post('/records')
    .set('Content-Type', type)
    .serialize((bytes) => bytes)
    .send(body);
}

/** `{"a": [[[...1...]]]}`: an object with arrays `depth - 1` deep inside it. */
function nested(depth: number): string {
  return `{"a":${'['.repeat(depth - 1)}1${']'.repeat(depth - 1)}}`;
}

// What JSON allows but Postgres or JavaScript cannot keep: each is refused
// with a 4xx that says what to fix, never a 500, never stored changed.
describe('stage 05: bodies that JSON allows and a record cannot keep', () => {
  test.each([
    [
      'a lone surrogate',
      String.raw`{"a":"\udc00x"}`,
      422,
      /^A record cannot contain a lone surrogate like \\udc00 .*send the complete pair or remove it from the string in "a"$/,
    ],
    [
      'a lone surrogate in a key',
      String.raw`{"\ud83d": 1}`,
      422,
      /^A record cannot contain a lone surrogate like \\ud83d .*remove it from the key "\\ud83d"$/,
    ],
    [
      '\\u0000 in a string',
      String.raw`{"title": "a\u0000b"}`,
      422,
      /^A record cannot contain the character \\u0000 \(Postgres does not store it\); remove it from the string in "title"$/,
    ],
    [
      '\\u0000 in a key',
      String.raw`{"a\u0000": 1}`,
      422,
      /^A record cannot contain the character \\u0000 .*remove it from the key "a\\u0000"$/,
    ],
    [
      '1e400',
      '{"n": 1e400}',
      422,
      /^The number 1e400 in "n" is too large for a JavaScript number; send it as a string, like "1e400"$/,
    ],
    [
      '2^53 + 1',
      '{"n": 9007199254740993}',
      422,
      /^The whole number 9007199254740993 in "n" is beyond ±9007199254740991, where JavaScript rounds it; send it as a string/,
    ],
    [
      '-(2^53 + 1), in an array',
      '{"n": [1, -9007199254740993]}',
      422,
      /^The whole number -9007199254740993 in "1"/,
    ],
    ['1e-400', '{"n": 1e-400}', 422, /^The number 1e-400 in "n" is too small for a JavaScript number/],
    [
      `nesting ${MAX_DEPTH + 1} deep`,
      nested(MAX_DEPTH + 1),
      422,
      /^A record may nest objects and arrays at most 32 deep; this one goes deeper \(at character \d+\), flatten it$/,
    ],
    [
      'nesting 5,000 deep in 10 KB',
      nested(5000),
      422,
      /^A record may nest objects and arrays at most 32 deep/,
    ],
    ['nesting 20,000 deep', nested(20_000), 422, /^A record may nest objects and arrays at most 32 deep/],
    ['nested objects 5,000 deep', `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`, 422, /at most 32 deep/],
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from('{"title": "caf'), Buffer.from([0xe9]), Buffer.from('"}')]),
      400,
      /^The body is not valid UTF-8; send the record as UTF-8 text, as JSON requires$/,
    ],
    [
      'a UTF-8 encoded surrogate',
      Buffer.from([0x7b, 0x22, 0xed, 0xb0, 0x80, 0x22, 0x3a, 0x31, 0x7d]),
      400,
      /UTF-8/,
    ],
  ])('%s: a 4xx that says what to fix, and nothing stored', async (_name, body, status, error) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.error).toMatch(error);
    expect(await db.Record.count()).toBe(0);
    // ...and nothing queued for an archive.
    expect(await redis.keys('*archive*')).toEqual([]);
  });

  test('a charset other than UTF-8 is a 415 that names it', async () => {
    const res = await post('{"title": "Test"}', 'application/json; charset=latin1');
    expect(res.status).toBe(415);
    expect(res.body).toEqual({
      error: 'Send the record as UTF-8, the encoding of JSON (got charset=latin1)',
    });
    expect(await db.Record.count()).toBe(0);
  });

  test('just inside every limit, a record is stored and given back exactly', async () => {
    const body = String.raw`{"smile": "\ud83d\ude00", "max": 9007199254740991, "min": -9007199254740991, "big": 1e300, "small": 5e-324, "deep": ${nested(MAX_DEPTH - 1)}}`;
    const res = await post(body);
    expect(res.status).toBe(201);
    const data = JSON.parse(body);
    expect(data.smile).toBe('😀');
    expect((await request(app).get(res.headers.location)).body.data).toEqual(data);
  });

  test('brackets and quotes inside strings do not count as nesting', async () => {
    const res = await post(JSON.stringify({ text: `${'[{'.repeat(100)} \\" ${'"['.repeat(100)}` }));
    expect(res.status).toBe(201);
  });
});
