import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { startPostgres, startRedis, type TestServer } from '../../../testing/services.ts';
import { createApp } from '../src/app.ts';
import { createDatabase, type Database } from '../src/db.ts';
import { createMigrator } from '../src/migrator.ts';
import { closeRedis, createRedis } from '../src/redis.ts';

// The app's timeouts (src/db.ts, src/redis.ts) are 3 s and more, for a busy
// laptop. A stopped dependency must still be a 503 at once: by the connection
// error (refused, closed, unknown host), not after a timeout. So the client
// here gives up after 2 s: a 503 that a timeout produced would come too late.
// (A bound, not a measurement: the answers come in milliseconds.)
const BEFORE_ANY_TIMEOUT_MS = 2000;

let redisServer: TestServer;
let postgres: TestServer;
let redis: Redis;
let db: Database;
let server: Server;
let baseUrl: string;
let warn: jest.SpyInstance;

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => {});
  warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  [redisServer, postgres] = await Promise.all([startRedis(), startPostgres()]);
  redis = createRedis(redisServer.url);
  await once(redis, 'ready');
  db = createDatabase(postgres.url);
  await createMigrator(db.sequelize).up();
  server = await listen(createApp({ redis, db }));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await closeRedis(redis);
  await db.close();
  await redisServer.destroy();
  await postgres.destroy();
  jest.restoreAllMocks();
});

async function listen(app: ReturnType<typeof createApp>): Promise<Server> {
  const listening = app.listen(0, '127.0.0.1');
  await once(listening, 'listening');
  return listening;
}

function call(path: string, init: RequestInit = {}, url = baseUrl): Promise<Response> {
  return fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(BEFORE_ANY_TIMEOUT_MS) });
}

function post(data: unknown, url = baseUrl): Promise<Response> {
  const init = {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(data),
  };
  return call('/records', init, url);
}

async function expectDown(res: Response, dependency: string): Promise<void> {
  expect(res.status).toBe(503);
  expect((await res.json()).dependency).toBe(dependency);
}

/** Asks `path` every 100 ms until it answers 200; at most 10 s. */
async function eventuallyOk(path: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const res = await call(path).catch(() => undefined);
    if (res?.status === 200) return;
    await sleep(100);
  }
  throw new Error(`GET ${path} did not answer 200 within 10 s`);
}

describe('stage 04: a stopped dependency is a 503 that names it, before any timeout could trip', () => {
  test('Redis stopped: refused at once, so GET / and /healthz answer 503 naming redis', async () => {
    expect((await call('/')).status).toBe(200);
    await redisServer.stop();
    try {
      for (let i = 0; i < 3; i++) {
        await expectDown(await call('/'), 'redis');
        const health = await call('/healthz');
        expect(health.status).toBe(503);
        expect((await health.json()).dependencies).toEqual({ redis: 'down', db: 'up' });
      }
    } finally {
      await redisServer.start();
    }
    await eventuallyOk('/');
  });

  test('Postgres stopped: open connections break and new ones are refused, so POST and GET answer 503 naming db, and nothing is stored', async () => {
    expect((await post({ n: 'before' })).status).toBe(201);
    // Several connections open in the pool when Postgres goes away.
    await Promise.all(Array.from({ length: 5 }, () => call('/records')));
    await postgres.stop();
    try {
      for (let i = 0; i < 3; i++) {
        await expectDown(await post({ n: 'during' }), 'db');
        await expectDown(await call('/records'), 'db');
      }
    } finally {
      await postgres.start();
    }
    await eventuallyOk('/records');
    const { results } = await (await call('/records')).json();
    expect(results.map((record: { data: unknown }) => record.data)).toEqual([{ n: 'before' }]);
  });

  test('an unknown host (a stopped container, inside compose) is a 503 at once too', async () => {
    const lostRedis = createRedis('redis://no-such-redis.invalid:6379');
    const lostDb = createDatabase('postgres://workshop:workshop@no-such-db.invalid:5432/workshop');
    const withoutRedis = await listen(createApp({ redis: lostRedis, db }));
    const withoutDb = await listen(createApp({ redis, db: lostDb }));
    const urlOf = (listening: Server) => `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    try {
      await expectDown(await call('/', {}, urlOf(withoutRedis)), 'redis');
      await expectDown(await post({ n: 'lost' }, urlOf(withoutDb)), 'db');
      await expectDown(await call('/records', {}, urlOf(withoutDb)), 'db');
    } finally {
      withoutRedis.close();
      withoutDb.close();
      lostRedis.disconnect();
      await lostDb.close();
    }
  });
});

describe('stage 04: a slow statement is cancelled by Postgres before the client gives up', () => {
  test('an INSERT that waits too long is rolled back by Postgres: the 503 means nothing was stored', async () => {
    // Another connection holds a lock on the table, so the INSERT waits.
    const locker = new pg.Client({ connectionString: postgres.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE records IN ACCESS EXCLUSIVE MODE');
      warn.mockClear();
      const res = await fetch(`${baseUrl}/records`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ n: 'slow' }),
        // Longer than the client's own query_timeout: the test sees which side gave up.
        signal: AbortSignal.timeout(30_000),
      });
      await expectDown(res, 'db');
      // Postgres gave up (statement_timeout), not the client (query_timeout,
      // "Query read timeout"), which would leave the INSERT waiting to commit.
      expect(warn.mock.calls.join('\n')).toContain('canceling statement due to statement timeout');
      await locker.query('ROLLBACK');
    } finally {
      await locker.end();
    }
    // Time for an INSERT the client had given up on to commit, if there were one.
    await sleep(500);
    const { results } = await (await call('/records')).json();
    expect(results.map((record: { data: unknown }) => record.data)).not.toContainEqual({ n: 'slow' });
  });
});
