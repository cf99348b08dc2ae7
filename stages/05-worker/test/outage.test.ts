import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { createTestDatabase, type TestDatabase } from '../../../testing/isolation.ts';
import { startRedis, type TestServer } from '../../../testing/services.ts';
import { createApp } from '../src/app.ts';
import { createDatabase, type Database } from '../src/db.ts';
import { createMigrator } from '../src/migrator.ts';
import { type ArchiveQueue, createArchiveQueue } from '../src/queue.ts';
import { closeRedis, createRedis } from '../src/redis.ts';

// A Redis server of this file's own, which the test stops and starts again.
let redisServer: TestServer;
let redis: Redis;
let testDatabase: TestDatabase;
let db: Database;
let archive: ArchiveQueue;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => {});
  jest.spyOn(console, 'warn').mockImplementation(() => {});
  redisServer = await startRedis();
  redis = createRedis(redisServer.url);
  await once(redis, 'ready');
  testDatabase = await createTestDatabase();
  db = createDatabase(testDatabase.url);
  await createMigrator(db.sequelize).up();
  archive = createArchiveQueue(redis, { attempts: 1, backoffMs: 0 });
  server = createApp({ redis, db, archive }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await archive.close();
  await closeRedis(redis);
  await redisServer.destroy();
  await db.close();
  await testDatabase.drop();
  jest.restoreAllMocks();
});

// The app answers within a second. A client that waits 3 s and then gives up
// turns a hang into a failed test (instead of a test that never ends).
function get(path: string): Promise<Response> {
  return fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(3000) });
}

describe('stage 05: Redis goes away and comes back', () => {
  test('503 naming redis while it is down, counting again once it is back', async () => {
    expect(await (await get('/')).text()).toBe(`I have been seen 1 times (replica ${hostname()}).\n`);

    await redisServer.stop();
    // Several requests in a row: every one gets its answer, none waits for a reconnect.
    for (let i = 0; i < 3; i++) {
      const res = await get('/');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toEqual({
        error: 'Redis is unavailable; try again in a moment',
        dependency: 'redis',
      });
      const health = await get('/healthz');
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({
        status: 'unavailable',
        dependencies: { redis: 'down', db: 'up' },
      });
      // Postgres has nothing to do with it: the records are still there.
      expect((await get('/records')).status).toBe(200);
      // And a new record is stored: 201, its archive job not queued yet (a worker will queue it).
      const post = await postRecord({ title: 'during the outage' });
      expect(post.status).toBe(201);
      expect((await post.json()).archive).toMatchObject({ queued: false });
    }
    expect(await db.Record.count({ where: { archivedAt: null } })).toBe(3);

    // Back again, without restarting the app. The test server keeps nothing on
    // disk, so the count starts over.
    await redisServer.start();
    expect(await eventuallyOk('/')).toBe(`I have been seen 1 times (replica ${hostname()}).\n`);
    expect(await eventuallyOk('/')).toBe(`I have been seen 2 times (replica ${hostname()}).\n`);
    expect(await (await get('/healthz')).json()).toEqual({
      status: 'ok',
      dependencies: { redis: 'up', db: 'up' },
    });
    // Records are queued again at once.
    const created = await postRecord({ title: 'after the outage' });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: 4, archive: { jobId: 'archive-4', queued: true } });
  });
});

function postRecord(data: unknown): Promise<Response> {
  return fetch(`${baseUrl}/records`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(data),
    signal: AbortSignal.timeout(3000),
  });
}

/** The body of the first 200 answer, asking every 100 ms for at most 5 s. */
async function eventuallyOk(path: string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const res = await get(path);
    if (res.status === 200) return res.text();
    await sleep(100);
  }
  throw new Error(`GET ${path} did not answer 200 within 5 s`);
}
