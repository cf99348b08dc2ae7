import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { testRedisUrl } from '../../../testing/isolation.ts';
import { startPostgres, type TestServer } from '../../../testing/services.ts';
import { runStage, runStageToExit } from '../../../testing/stage-process.ts';

// A Postgres server of this file's own, which the test stops and starts again.
let postgres: TestServer;

beforeAll(async () => {
  postgres = await startPostgres();
  const migrate = await runStageToExit('03-db', {
    script: 'src/migrate.ts',
    env: { DATABASE_URL: postgres.url },
  });
  expect(migrate.code).toBe(0);
});
afterAll(async () => {
  await postgres?.destroy();
});

const DB_DOWN = { error: 'The database is unavailable; try again in a moment', dependency: 'db' };

/** The stage's web process, with its Postgres at `databaseUrl`. */
async function startApp(databaseUrl: string) {
  return runStage('03-db', { env: { DATABASE_URL: databaseUrl, REDIS_URL: await testRedisUrl() } });
}

describe('stage 03: Postgres goes away and comes back', () => {
  test('503 naming db while it is down, the counter still counts, and all works again once it is back', async () => {
    const server = await startApp(postgres.url);
    // The app answers within a second. A client that waits 3 s and then gives
    // up turns a hang into a failed test (instead of a test that never ends).
    const call = (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(3000) });
    const post = (data: unknown) =>
      call('/records', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(data),
      });
    try {
      expect((await post({ title: 'before' })).status).toBe(201);
      // Requests side by side, so that the pool holds several open connections
      // when Postgres goes away: each of them breaks, none may crash the app.
      await Promise.all(Array.from({ length: 5 }, () => call('/records')));

      await postgres.stop();
      for (let round = 0; round < 2; round++) {
        for (const res of [
          await post({ title: 'during' }),
          await call('/records'),
          await call('/records/1'),
        ]) {
          expect(res.status).toBe(503);
          expect(res.headers.get('retry-after')).toBe('1');
          expect(await res.json()).toEqual(DB_DOWN);
        }
        const health = await call('/healthz');
        expect(health.status).toBe(503);
        expect(await health.json()).toEqual({
          status: 'unavailable',
          dependencies: { redis: 'up', db: 'down' },
        });
        // Redis has nothing to do with it: the counter goes on.
        expect((await call('/')).status).toBe(200);
      }

      await postgres.start();
      let res = await call('/records/1');
      for (let attempt = 0; attempt < 50 && res.status !== 200; attempt++) {
        await sleep(100);
        res = await call('/records/1');
      }
      expect(await res.json()).toEqual({ id: 1, data: { title: 'before' } });
      const after = await post({ title: 'after' });
      expect(after.status).toBe(201);
      expect((await after.json()).id).toBe(2);
      expect((await call('/healthz')).status).toBe(200);

      // Still the same process, and its log tells the story once, not per request.
      expect(server.child.exitCode).toBeNull();
      expect(server.output().match(/db: .* is unavailable/g)).toHaveLength(1);
      expect(server.output().match(/db: connected to/g)).toHaveLength(2);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  // The moment when a shutdown can hit a connection that Sequelize has not yet
  // put its 'error' listener on: without GuardedClient (db.ts), this ends the process.
  test('a connection dropped just as it opens is a 503, not a crash; the next request opens a good one', async () => {
    const proxy = await startDroppingProxy(new URL(postgres.url));
    const server = await startApp(proxy.url);
    // A request that gets no answer at all shows what the app printed (say, its crash).
    const call = (path: string) =>
      fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(3000) }).catch((err) => {
        throw new Error(`GET ${path}: ${err.message}. The app's output:\n${server.output()}`);
      });
    try {
      // One request at a time: the pool is empty, so each opens a connection.
      proxy.state.drops = 3;
      for (let i = 0; i < 3; i++) {
        const res = await call('/records');
        expect(res.status).toBe(503);
        expect(await res.json()).toEqual(DB_DOWN);
      }
      expect(proxy.state.dropped).toBe(3);
      expect((await call('/records')).status).toBe(200);
      expect((await call('/healthz')).status).toBe(200);
      expect(server.child.exitCode).toBeNull();
      expect(server.output().match(/db: .* is unavailable/g)).toHaveLength(1);
    } finally {
      await server.stop();
      await proxy.close();
    }
  });
});

/**
 * A TCP proxy in front of Postgres that can drop connections at the worst
 * moment: just as they are ready. For each of the next `drops` connections it
 * holds back what the server says until the server reports "ready for query",
 * has Postgres terminate that backend (`pg_terminate_backend`, the way a
 * shutdown does), and then passes everything on in a single write: the
 * client reads "ready" and "terminating connection" (57P01) in one go, before
 * the code that opened the connection has had a chance to look at it.
 */
async function startDroppingProxy(target: URL) {
  const admin = new pg.Client({ connectionString: target.toString(), application_name: 'test-admin' });
  await admin.connect();
  const state = { drops: 0, dropped: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.pipe(upstream);
    if (state.drops === 0) {
      upstream.pipe(client);
      return;
    }
    state.drops--;
    // Hold back all the server says, reading its messages (a type byte, then
    // a 4-byte length that counts itself) to find its pid and "ready".
    let held = Buffer.alloc(0);
    let offset = 0;
    let pid: number | undefined;
    let ready = false;
    upstream.on('data', (chunk: Buffer) => {
      held = Buffer.concat([held, chunk]);
      while (!ready && held.length >= offset + 5) {
        const type = String.fromCharCode(held[offset] as number);
        const length = held.readInt32BE(offset + 1);
        if (held.length < offset + 1 + length) break;
        if (type === 'K') pid = held.readInt32BE(offset + 5);
        if (type === 'Z') {
          ready = true;
          admin.query('SELECT pg_terminate_backend($1)', [pid]).catch(() => {});
        }
        offset += 1 + length;
      }
    });
    upstream.once('end', () => {
      state.dropped++;
      client.end(held);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    state,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      await admin.end();
    },
  };
}
