import { once } from 'node:events';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../../../testing/isolation.ts';
import { startRedis, type TestServer } from '../../../testing/services.ts';
import { createApp } from '../src/app.ts';
import { createDatabase, type Database } from '../src/db.ts';
import { createMigrator } from '../src/migrator.ts';
import { type ArchiveQueue, createArchiveQueue } from '../src/queue.ts';
import { closeRedis, createRedis } from '../src/redis.ts';

// The web side of the queue, without a worker: jobs wait. A Redis server of
// this file's own, which one test stops and starts again.
let redisServer: TestServer;
let redis: Redis;
let testDatabase: TestDatabase;
let db: Database;
let archive: ArchiveQueue;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => {});
  jest.spyOn(console, 'warn').mockImplementation(() => {});
  redisServer = await startRedis();
  redis = createRedis(redisServer.url);
  await once(redis, 'ready');
  testDatabase = await createTestDatabase();
  db = createDatabase(testDatabase.url);
  await createMigrator(db.sequelize).up();
  archive = createArchiveQueue(redis, { attempts: 5, backoffMs: 1000 });
  app = createApp({ redis, db, archive });
});
afterAll(async () => {
  await archive.close();
  await closeRedis(redis);
  await redisServer.destroy();
  await db.close();
  await testDatabase.drop();
  jest.restoreAllMocks();
});
beforeEach(async () => {
  await db.Record.truncate({ restartIdentity: true });
  await redis.flushdb();
});

function create(data: unknown) {
  return request(app).post('/records').set('Content-Type', 'application/json').send(JSON.stringify(data));
}

describe('stage 05: POST /records queues an archive job', () => {
  test('201 at once, with the job id and where to follow it', async () => {
    const res = await create({ title: 'Test' });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe('/records/1');
    expect(res.body).toEqual({
      id: 1,
      data: { title: 'Test' },
      archive: { jobId: 'archive-1', status: '/records/1/archive', queued: true },
    });
    // GET /records/:id is what it was in stage 03: the record, nothing else.
    expect((await request(app).get('/records/1')).body).toEqual({ id: 1, data: { title: 'Test' } });
  });

  test('the job waits in Redis for a worker; it carries the record id and the retry settings', async () => {
    await create({ title: 'Test' });
    const job = await archive.queue.getJob('archive-1');
    expect(job?.name).toBe('archive-record');
    expect(job?.data).toEqual({ recordId: 1 });
    // The worker knows the 'capped-exponential' backoff: 1 s, doubling, up to its cap.
    expect(job?.opts).toMatchObject({ attempts: 5, backoff: { type: 'capped-exponential', delay: 1000 } });
    expect(await archive.queue.getJobCounts('waiting', 'active', 'completed', 'failed')).toEqual({
      waiting: 1,
      active: 0,
      completed: 0,
      failed: 0,
    });
  });

  test('GET /records/:id/archive: waiting, no progress, no attempt yet', async () => {
    await create({ title: 'Test' });
    const res = await request(app).get('/records/1/archive');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: 1,
      jobId: 'archive-1',
      state: 'waiting',
      progress: 0,
      attemptsMade: 0,
      error: null,
      file: null,
      archivedAt: null,
      source: 'queue',
    });
  });

  test("adding a record's job again changes nothing: still one job", async () => {
    await create({ title: 'Test' });
    expect(await archive.add(1)).toBe('archive-1');
    expect(await archive.add(1)).toBe('archive-1');
    expect(await archive.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  test('every record gets its own job', async () => {
    for (let i = 1; i <= 3; i++) expect((await create({ n: i })).body.archive.jobId).toBe(`archive-${i}`);
    expect(await archive.queue.getJobCounts('waiting')).toEqual({ waiting: 3 });
  });
});

describe('stage 05: GET /records/:id/archive when the queue has no job', () => {
  test('a record that does not exist is a 404, a bad id a 400', async () => {
    expect((await request(app).get('/records/7/archive')).body).toEqual({ error: 'Record 7 not found' });
    expect((await request(app).get('/records/7/archive')).status).toBe(404);
    expect((await request(app).get('/records/abc/archive')).status).toBe(400);
  });

  test('an archived record whose job has been removed: Postgres knows the end of the story', async () => {
    await create({ title: 'Test' });
    const archivedAt = new Date('2026-01-02T03:04:05.000Z');
    await db.Record.update({ archivedAt, archiveFile: 'record-1.json.zz' }, { where: { id: 1 } });
    await archive.queue.remove('archive-1');

    const res = await request(app).get('/records/1/archive');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: 1,
      jobId: 'archive-1',
      state: 'completed',
      progress: 100,
      attemptsMade: null,
      error: null,
      file: 'record-1.json.zz',
      archivedAt: '2026-01-02T03:04:05.000Z',
      source: 'database',
    });
  });

  test('a record that is not archived and has no job (Redis emptied) says that a worker will queue it', async () => {
    await create({ title: 'Test' });
    await redis.flushdb();
    const res = await request(app).get('/records/1/archive');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'not-queued', source: 'database', archivedAt: null });
    expect(res.body.error).toMatch(/waits for its archive .* a worker queues it on its next pass/);
  });
});

describe('stage 05: Redis is down', () => {
  test('POST stores the record and answers 201, its job not queued yet; an archived record still answers from Postgres', async () => {
    await create({ title: 'archived' });
    await create({ title: 'waiting' });
    await db.Record.update({ archivedAt: new Date(), archiveFile: 'record-1.json.zz' }, { where: { id: 1 } });

    await redisServer.stop();
    try {
      const post = await create({ title: 'during the outage' });
      expect(post.status).toBe(201);
      expect(post.body).toEqual({
        id: 3,
        data: { title: 'during the outage' },
        archive: {
          jobId: 'archive-3',
          status: '/records/3/archive',
          queued: false,
          note: 'The record is stored. Redis is unavailable, so its archive job is not queued yet; a worker queues it once Redis is back',
        },
      });
      // Stored, waiting for its archive.
      expect((await db.Record.findByPk(3))?.get()).toMatchObject({ archivedAt: null });
      expect(await db.Record.count()).toBe(3);

      // Reading needs no queue.
      expect((await request(app).get('/records')).body.results).toHaveLength(3);
      expect((await request(app).get('/records/2')).status).toBe(200);
      // Archived: Postgres has the answer.
      const archived = await request(app).get('/records/1/archive');
      expect(archived.status).toBe(200);
      expect(archived.body).toMatchObject({ state: 'completed', source: 'database' });
      // Not archived yet: only Redis knows how the job is doing.
      const waiting = await request(app).get('/records/2/archive');
      expect(waiting.status).toBe(503);
      expect(waiting.body).toEqual({
        error: 'Redis is unavailable; try again in a moment',
        dependency: 'redis',
      });
    } finally {
      await redisServer.start();
    }
    // Back by itself. The test server keeps nothing on disk: the queue is empty now.
    let res = await create({ title: 'after' });
    for (let attempt = 0; attempt < 50 && res.body.archive?.queued !== true; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      res = await create({ title: 'after' });
    }
    expect(res.status).toBe(201);
    expect(res.body.archive).toMatchObject({ queued: true });
    expect((await request(app).get(`/records/${res.body.id}/archive`)).body.state).toBe('waiting');
    // The record of the outage has no job yet, and says who will add it (the worker's reconciler).
    expect((await request(app).get('/records/3/archive')).body).toMatchObject({
      state: 'not-queued',
      source: 'database',
    });
  });
});
