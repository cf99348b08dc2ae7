import { setTimeout as sleep } from 'node:timers/promises';
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
  query,
  startWeb,
  startWorker,
  tempDir,
  waitForArchive,
  writesOf,
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
beforeEach(async () => {
  // A fresh start for each test: ids begin at 1 again, so the queue must forget their jobs too.
  await query(database.url, 'TRUNCATE records RESTART IDENTITY');
  const admin = new Redis(redisServer.url);
  await admin.flushall();
  await admin.quit();
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

// The worker's reconciler looks every second here (compose: every 10 s).
const RECONCILE = { RECONCILE_INTERVAL_MS: '1000' };

describe('stage 05: Redis goes away under web and the worker, and comes back', () => {
  test('POST still 201 (stored, job not queued yet), reads 200; once Redis is back the reconciler queues the waiting records', async () => {
    const web = await start(startWeb);
    const worker = await start((e) => startWorker({ ...e, ...RECONCILE }));
    const get = (path: string) => fetch(`${web.url}${path}`, { signal: AbortSignal.timeout(3000) });
    const first = (await postRecord(web.url, { title: 'before' })).body.id;
    await waitForArchive(web.url, first, completed);

    await redisServer.stop();
    const during: number[] = [];
    for (let round = 0; round < 2; round++) {
      const post = await postRecord(web.url, { title: 'during' });
      expect(post.status).toBe(201);
      expect(post.body.archive).toMatchObject({ jobId: `archive-${post.body.id}`, queued: false });
      expect(post.body.archive.note).toMatch(/not queued yet; a worker queues it once Redis is back/);
      during.push(post.body.id);
      expect((await get('/records')).status).toBe(200);
      expect((await get(`/records/${first}`)).status).toBe(200);
      // Archived: Postgres can tell, without Redis.
      expect(await archiveStatus(web.url, first)).toMatchObject({ state: 'completed', source: 'database' });
      expect((await get('/healthz')).status).toBe(503);
    }
    // Stored during the outage, and waiting for their archive.
    expect((await (await get('/records')).json()).results).toHaveLength(3);
    // The worker is still there, waiting for Redis, and trying to reconnect, several times.
    await sleep(1500);
    expect(worker.child.exitCode).toBeNull();

    await redisServer.start();
    // web reconnects by itself: healthy again, and a new record is queued at once.
    let health = await get('/healthz');
    for (let attempt = 0; attempt < 50 && health.status !== 200; attempt++) {
      await sleep(100);
      health = await get('/healthz');
    }
    expect(health.status).toBe(200);
    const created = await postRecord(web.url, { title: 'after' });
    expect(created.body.archive.queued).toBe(true);
    await waitForArchive(web.url, created.body.id, completed);
    // The test server kept nothing: the jobs added before the outage are gone.
    // The same worker process, reconnected by itself, finds the two records
    // without a job and queues them.
    for (const id of during) await waitForArchive(web.url, id, completed, 30);
    expect(worker.output()).toMatch(/reconciler: queued the jobs of 2 record\(s\)/);
    const ids = ((await (await get('/records')).json()).results as { id: number }[]).map((r) => r.id);
    // One file per record, each written once.
    expect(archiveFiles(dir.path)).toEqual(ids.map((id) => `record-${id}.json.zz`).sort());
    for (const id of ids) expect(writesOf(worker.output(), id)).toBe(1);
    // Its log tells the story in two lines, not one per reconnect attempt.
    expect(worker.output().match(/redis: lost the connection to .*; waiting for it/g)).toHaveLength(1);
    expect(worker.output().match(/redis: connected to/g)).toHaveLength(2);
  }, 60_000);

  test('Redis hangs while a job is added: 201 all the same, and the job that Redis runs late archives the record', async () => {
    const web = await start(startWeb);
    const worker = await start(startWorker);
    // Redis holds every write command for 2 s: it answers nothing, but the connection stays up.
    const admin = new Redis(redisServer.url);
    try {
      const stored = (await postRecord(web.url, { title: 'fine' })).body.id;
      await waitForArchive(web.url, stored, completed);
      await admin.call('CLIENT', 'PAUSE', '2000', 'WRITE');
      const hung = await postRecord(web.url, { title: 'caught in the pause' });
      // The job could not be added in time: the record is stored all the same, and says so.
      expect(hung.status).toBe(201);
      expect(hung.body.archive).toMatchObject({ queued: false });
      const { id } = hung.body;
      expect((await fetch(`${web.url}/records/${id}`)).status).toBe(200);

      // Redis ran the command once the pause was over: the job is there, and
      // the worker archives the record, once.
      await waitForArchive(web.url, id, completed);
      expect(archiveFiles(dir.path)).toEqual([`record-${stored}.json.zz`, `record-${id}.json.zz`]);
      expect(writesOf(worker.output(), id)).toBe(1);
      expect(worker.output()).not.toMatch(/not found/);
      // And the next record is taken as usual.
      const next = await postRecord(web.url, { title: 'after the pause' });
      expect(next.status).toBe(201);
      expect(next.body.archive).toMatchObject({ queued: true });
      await waitForArchive(web.url, next.body.id, completed);
    } finally {
      await admin.quit();
    }
  }, 40_000);
});
