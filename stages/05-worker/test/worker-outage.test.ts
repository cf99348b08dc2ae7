import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { TestDatabase } from '../../../testing/isolation.ts';
import { startRedis, type TestServer } from '../../../testing/services.ts';
import type { StageProcess } from '../../../testing/stage-process.ts';
import {
  archiveFiles,
  archiveStatus,
  completed,
  migratedDatabase,
  postRecord,
  startWeb,
  startWorker,
  tempDir,
  waitForArchive,
} from './stack.ts';

// Redis goes away (or hangs) under a running web and worker. A Redis server
// of this file's own, which the tests stop and start again.
let redisServer: TestServer;
let database: TestDatabase;
let dir: ReturnType<typeof tempDir>;
let env: Record<string, string>;
const running: StageProcess[] = [];

beforeAll(async () => {
  redisServer = await startRedis();
  database = await migratedDatabase();
});
afterAll(async () => {
  await redisServer.destroy();
  await database.drop();
});
beforeEach(() => {
  dir = tempDir();
  env = { DATABASE_URL: database.url, REDIS_URL: redisServer.url, ARCHIVE_DIR: dir.path };
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => child.stop()));
  dir.remove();
});

async function start(starter: typeof startWeb): Promise<StageProcess> {
  const child = await starter(env);
  running.push(child);
  return child;
}

const QUEUE_DOWN = {
  error:
    'Redis is unavailable, so the record cannot be queued for its archive; nothing was stored, try again in a moment',
  dependency: 'redis',
};

describe('stage 05: Redis goes away under web and the worker, and comes back', () => {
  test('POST 503 naming redis, reads still 200, and both carry on by themselves afterwards', async () => {
    const web = await start(startWeb);
    const worker = await start(startWorker);
    const get = (path: string) => fetch(`${web.url}${path}`, { signal: AbortSignal.timeout(3000) });
    const first = (await postRecord(web.url, { title: 'before' })).body.id;
    await waitForArchive(web.url, first, completed);

    await redisServer.stop();
    for (let round = 0; round < 2; round++) {
      expect(await postRecord(web.url, { title: 'during' })).toEqual({ status: 503, body: QUEUE_DOWN });
      expect((await get('/records')).status).toBe(200);
      expect((await get(`/records/${first}`)).status).toBe(200);
      // Archived: Postgres can tell, without Redis.
      expect(await archiveStatus(web.url, first)).toMatchObject({ state: 'completed', source: 'database' });
      expect((await get('/healthz')).status).toBe(503);
    }
    // Nothing was stored during the outage.
    expect((await (await get('/records')).json()).results).toHaveLength(1);
    // The worker is still there, waiting for Redis, and trying to reconnect, several times.
    await sleep(1500);
    expect(worker.child.exitCode).toBeNull();

    await redisServer.start();
    let created = await postRecord(web.url, { title: 'after' });
    for (let attempt = 0; attempt < 50 && created.status !== 201; attempt++) {
      await sleep(100);
      created = await postRecord(web.url, { title: 'after' });
    }
    expect(created.status).toBe(201);
    // The refused records never reached Postgres: the list holds the first record and this one. (Not
    // always as id first + 1: a record stored and taken back in the moment Redis went away keeps its
    // number from Postgres's sequence, as any rolled-back insert does.)
    const ids = ((await (await get('/records')).json()).results as { id: number }[]).map((r) => r.id);
    expect(ids).toEqual([first, created.body.id]);
    // The same worker process, reconnected by itself, archives it.
    await waitForArchive(web.url, created.body.id, completed);
    expect(archiveFiles(dir.path)).toEqual([`record-${first}.json.zz`, `record-${created.body.id}.json.zz`]);
    // Its log tells the story in two lines, not one per reconnect attempt.
    expect(worker.output().match(/redis: lost the connection to .*; waiting for it/g)).toHaveLength(1);
    expect(worker.output().match(/redis: connected to/g)).toHaveLength(2);
  }, 40_000);

  test('Redis hangs while a job is added: the record is taken back, and the late job fails without harm', async () => {
    const web = await start(startWeb);
    const worker = await start(startWorker);
    // Redis holds every write command for 2 s: it answers nothing, but the connection stays up.
    const admin = new Redis(redisServer.url);
    try {
      const stored = (await postRecord(web.url, { title: 'fine' })).body.id;
      await waitForArchive(web.url, stored, completed);
      await admin.call('CLIENT', 'PAUSE', '2000', 'WRITE');
      const hung = await postRecord(web.url, { title: 'caught in the pause' });
      // The job could not be added in time (500 ms): 503, and the record is gone again.
      expect(hung).toEqual({ status: 503, body: QUEUE_DOWN });
      const id = stored + 1;
      expect((await fetch(`${web.url}/records/${id}`)).status).toBe(404);

      // But Redis ran the command once the pause was over: a job for a record
      // that does not exist. The worker fails it at once, without retries,
      // and writes nothing.
      const queue = new Queue('archive', { connection: { url: redisServer.url } });
      try {
        let state = 'unknown';
        for (let attempt = 0; attempt < 100 && state !== 'failed'; attempt++) {
          await sleep(100);
          state = await queue.getJobState(`archive-${id}`);
        }
        expect(state).toBe('failed');
        const job = await queue.getJob(`archive-${id}`);
        expect(job?.failedReason).toBe(`Record ${id} not found`);
        expect(job?.attemptsMade).toBe(1);
      } finally {
        await queue.close();
      }
      expect(archiveFiles(dir.path)).toEqual([`record-${stored}.json.zz`]);
      expect(worker.output()).toContain(
        `worker: job archive-${id} failed (attempt 1 of 5): Record ${id} not found`,
      );
      // And the next record is taken as usual.
      const next = await postRecord(web.url, { title: 'after the pause' });
      expect(next.status).toBe(201);
      await waitForArchive(web.url, next.body.id, completed);
    } finally {
      await admin.quit();
    }
  }, 40_000);
});
