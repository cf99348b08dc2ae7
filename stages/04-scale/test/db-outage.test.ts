import { setTimeout as sleep } from 'node:timers/promises';
import { testRedisUrl } from '../../../testing/isolation.ts';
import { startPostgres, type TestServer } from '../../../testing/services.ts';
import { runStage, runStageToExit } from '../../../testing/stage-process.ts';

// A Postgres server of this file's own, which the test stops and starts again.
let postgres: TestServer;

beforeAll(async () => {
  postgres = await startPostgres();
  const migrate = await runStageToExit('04-scale', {
    script: 'src/migrate.ts',
    env: { DATABASE_URL: postgres.url },
  });
  expect(migrate.code).toBe(0);
});
afterAll(async () => {
  await postgres?.destroy();
});

const DB_DOWN = { error: 'The database is unavailable; try again in a moment', dependency: 'db' };

describe('stage 04: Postgres goes away and comes back', () => {
  test('503 naming db while it is down, the counter still counts, and all works again once it is back', async () => {
    const server = await runStage('04-scale', {
      env: { DATABASE_URL: postgres.url, REDIS_URL: await testRedisUrl() },
    });
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
});
