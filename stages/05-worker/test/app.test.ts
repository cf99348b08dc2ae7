import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { createTestDatabase, type TestDatabase, testRedisUrl } from '../../../testing/isolation.ts';
import { createApp } from '../src/app.ts';
import { createDatabase, type Database } from '../src/db.ts';
import { type ArchiveQueue, createArchiveQueue } from '../src/queue.ts';
import { closeRedis, createRedis } from '../src/redis.ts';

let redis: Redis;
let testDatabase: TestDatabase;
let db: Database;
let archive: ArchiveQueue;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  // The client logs its connection state; the tests do not need to see it.
  jest.spyOn(console, 'log').mockImplementation(() => {});
  redis = createRedis(await testRedisUrl());
  await once(redis, 'ready');
  // The counter does not need the records table: an empty database will do.
  testDatabase = await createTestDatabase();
  db = createDatabase(testDatabase.url);
  archive = createArchiveQueue(redis, { attempts: 1, backoffMs: 0 });
  app = createApp({ redis, db, archive, replicaName: 'replica-a' });
});
afterAll(async () => {
  await archive.close();
  await closeRedis(redis);
  await db.close();
  await testDatabase.drop();
  jest.restoreAllMocks();
});
beforeEach(async () => {
  await redis.del('hits');
});

describe('stage 05: the counter, which names its replica', () => {
  test('GET / counts the visits in plain text, one per request', async () => {
    const first = await request(app).get('/');
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/^text\/plain/);
    expect(first.text).toBe('I have been seen 1 times (replica replica-a).\n');

    const second = await request(app).get('/');
    expect(second.text).toBe('I have been seen 2 times (replica replica-a).\n');
    // The count lives in Redis, under the key `hits`.
    expect(await redis.get('hits')).toBe('2');
  });

  test('carries on from the count that is in Redis', async () => {
    await redis.set('hits', '41');
    const res = await request(app).get('/');
    expect(res.text).toBe('I have been seen 42 times (replica replica-a).\n');
  });

  test('50 requests at the same time get 50 different, consecutive counts', async () => {
    // One real server and 50 requests on the wire at once: a counter that
    // read the value and wrote it back (instead of INCR) would hand out
    // some numbers twice.
    const server: Server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const texts = await Promise.all(
        Array.from({ length: 50 }, async () =>
          (await fetch(url, { signal: AbortSignal.timeout(5000) })).text(),
        ),
      );
      const counts = texts.map((text) =>
        Number(/^I have been seen (\d+) times \(replica replica-a\)\.\n$/.exec(text)?.[1]),
      );
      expect(counts.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await redis.get('hits')).toBe('50');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('GET /healthz says that the app, Redis and Postgres are up', async () => {
    const res = await request(app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', dependencies: { redis: 'up', db: 'up' } });
  });

  test('an unknown route is a JSON 404 that names the route', async () => {
    const res = await request(app).get('/nope');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ error: 'No route for GET /nope' });
  });

  test('a route with the wrong method is a JSON 404 too, and does not count', async () => {
    const res = await request(app).post('/').send('x');
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('No route for POST /');
    expect(await redis.get('hits')).toBeNull();
  });

  test('every answer names the replica that gave it, in X-Served-By, errors too', async () => {
    for (const path of ['/', '/healthz', '/nope']) {
      const res = await request(app).get(path);
      expect(res.headers['x-served-by']).toBe('replica-a');
    }
  });

  test('without a name of its own, a replica goes by its hostname (in Docker: the container id)', async () => {
    const res = await request(createApp({ redis, db, archive })).get('/');
    expect(res.headers['x-served-by']).toBe(hostname());
    expect(res.text).toBe(`I have been seen 1 times (replica ${hostname()}).\n`);
  });

  test('the response does not advertise Express', async () => {
    const res = await request(app).get('/');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});
