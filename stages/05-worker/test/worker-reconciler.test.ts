import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startPostgres, startRedis, type TestServer } from '../../../testing/services.ts';
import { runStageToExit, type StageProcess } from '../../../testing/stage-process.ts';
import { readArchive } from '../src/worker-archive-file.ts';
import {
  archiveFiles,
  archiveStatus,
  completed,
  postRecord,
  query,
  STAGE,
  startWeb,
  startWorker,
  tempDir,
  waitForArchive,
  writesOf,
} from './stack.ts';

// The worker's reconciler: Postgres says which records wait for their
// archive, whatever the queue has lost or given up on. A Redis server and a
// Postgres server of this file's own, which the tests empty, stop and start.
// The reconciler looks every second here (compose: every 10 s); it leaves
// records younger than 5 s to POST /records.
let redisServer: TestServer;
let postgres: TestServer;
let dir: ReturnType<typeof tempDir>;
let env: Record<string, string>;
const running: StageProcess[] = [];

beforeAll(async () => {
  redisServer = await startRedis();
  postgres = await startPostgres();
  const migrate = await runStageToExit(STAGE, {
    script: 'src/migrate.ts',
    env: { DATABASE_URL: postgres.url },
  });
  expect(migrate.code).toBe(0);
});
afterAll(async () => {
  await redisServer?.destroy();
  await postgres?.destroy();
});
beforeEach(async () => {
  // Ids begin at 1 again in each test, so the queue must forget their jobs too.
  await query(postgres.url, 'TRUNCATE records RESTART IDENTITY');
  await flushAll();
  dir = tempDir();
  env = {
    DATABASE_URL: postgres.url,
    REDIS_URL: redisServer.url,
    ARCHIVE_DIR: dir.path,
    RECONCILE_INTERVAL_MS: '1000',
  };
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => child.stop('SIGKILL')));
  dir.remove();
});

async function start(starter: typeof startWeb, extra: Record<string, string> = {}): Promise<StageProcess> {
  const child = await starter({ ...env, ...extra });
  running.push(child);
  return child;
}

async function flushAll(): Promise<void> {
  const admin = new Redis(redisServer.url);
  try {
    await admin.flushall();
  } finally {
    await admin.quit();
  }
}

async function postRecords(url: string, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let n = 1; n <= count; n++) {
    const { status, body } = await postRecord(url, { n });
    expect(status).toBe(201);
    ids.push(body.id);
  }
  return ids;
}

/** Each record archived exactly once: archived_at and archive_file set, one file each, written once. */
async function expectArchivedOnce(ids: number[], workers: StageProcess[]): Promise<void> {
  const rows = await query(postgres.url, 'SELECT id, archive_file, archived_at FROM records ORDER BY id');
  expect(rows.map((row) => row.id)).toEqual(ids);
  for (const row of rows) {
    expect(row.archive_file).toBe(`record-${row.id}.json.zz`);
    expect(row.archived_at).not.toBeNull();
  }
  expect(archiveFiles(dir.path)).toEqual(ids.map((id) => `record-${id}.json.zz`).sort());
  for (const id of ids) {
    expect(workers.reduce((sum, worker) => sum + writesOf(worker.output(), id), 0)).toBe(1);
  }
}

/** Waits until `count` lines of the output match `pattern`, for at most `seconds`. */
async function waitForLines(
  child: StageProcess,
  pattern: RegExp,
  count: number,
  seconds: number,
): Promise<void> {
  for (let attempt = 0; attempt < seconds * 10; attempt++) {
    if ((child.output().match(new RegExp(pattern, 'g')) ?? []).length >= count) return;
    await sleep(100);
  }
  throw new Error(`not ${count} lines like ${pattern} after ${seconds} s:\n${child.output()}`);
}

describe('stage 05: the reconciler queues what the queue has lost', () => {
  test('FLUSHALL empties Redis under waiting records: every one of them still ends archived, once', async () => {
    const web = await start(startWeb);
    const ids = await postRecords(web.url, 6);
    await flushAll();
    // The jobs are gone; the records say they wait.
    expect(await archiveStatus(web.url, ids[0] as number)).toMatchObject({ state: 'not-queued' });

    const worker = await start(startWorker);
    for (const id of ids) await waitForArchive(web.url, id, completed, 30);
    // By one pass or more (a record younger than 5 s waits for the next one): six in all.
    const queued = [...worker.output().matchAll(/reconciler: queued the jobs of (\d+) record/g)];
    expect(queued.reduce((sum, [, n]) => sum + Number(n), 0)).toBe(6);
    await expectArchivedOnce(ids, [worker]);
  }, 60_000);

  test('a file written without its mark (worker killed, job lost) is finished: the file left alone, archived_at set', async () => {
    const web = await start(startWeb);
    const doomed = await start(startWorker, { WORKER_STEP_DELAY_MS: '1000' });
    const [id] = await postRecords(web.url, 1);
    // 75: the file is written, the record not yet marked as archived.
    await waitForArchive(web.url, id as number, (s) => s.state === 'active' && s.progress === 75);
    await doomed.stop('SIGKILL');
    await flushAll();
    const before = statSync(join(dir.path, 'record-1.json.zz'));
    expect(await query(postgres.url, 'SELECT archived_at FROM records')).toEqual([{ archived_at: null }]);

    const rescuer = await start(startWorker);
    await waitForArchive(web.url, id as number, completed, 30);
    expect(rescuer.output()).toContain('reconciler: queued the jobs of 1 record(s) (1)');
    expect(rescuer.output()).toContain(
      'worker: record 1: record-1.json.zz is already there, not written again',
    );
    // The very same file: same inode, same time.
    const after = statSync(join(dir.path, 'record-1.json.zz'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    await expectArchivedOnce([1], [doomed, rescuer]);
  }, 60_000);

  test('Postgres away for longer than the jobs try (5 attempts, 15 s): once it is back, every record is archived once', async () => {
    // The retry budget of the stage before the reconciler: 1 + 2 + 4 + 8 s.
    const oldBudget = { ARCHIVE_ATTEMPTS: '5', ARCHIVE_BACKOFF_MS: '1000' };
    const web = await start(startWeb, oldBudget);
    const ids = await postRecords(web.url, 8);
    await postgres.stop();
    const worker = await start(startWorker, oldBudget);
    // Every job uses up its attempts while Postgres is away, and fails.
    await waitForLines(worker, /failed \(attempt 5 of 5\)/, ids.length, 40);
    await postgres.start();

    for (const id of ids) await waitForArchive(web.url, id, completed, 30);
    expect(worker.output()).toMatch(/reconciler: retried the failed jobs of \d+ record\(s\)/);
    await expectArchivedOnce(ids, [worker]);
  }, 90_000);

  test('the database emptied alone, the queue kept its jobs: a new record with an old id is archived all the same', async () => {
    const web = await start(startWeb);
    const worker = await start(startWorker);
    const [old] = await postRecords(web.url, 1);
    await waitForArchive(web.url, old as number, completed);
    // Postgres starts over (its volume removed alone); Redis still has the completed job archive-1.
    await query(postgres.url, 'TRUNCATE records RESTART IDENTITY');
    const { body } = await postRecord(web.url, { title: 'a new record 1' });
    expect(body.id).toBe(1);
    // The old job's id was taken: the reconciler frees it and queues the new record's job.
    await waitForArchive(web.url, 1, (s) => s.state === 'completed' && s.archivedAt !== null, 30);
    expect(worker.output()).toContain('reconciler: queued the jobs of 1 record(s) (1)');
    expect(JSON.parse(await readArchive(join(dir.path, 'record-1.json.zz')))).toEqual({
      id: 1,
      data: { title: 'a new record 1' },
    });
  }, 60_000);

  test('a job that failed through an UnrecoverableError is left failed, and said so once', async () => {
    const web = await start(startWeb);
    const [id] = await postRecords(web.url, 1);
    // A job that can never succeed: it names a record that does not exist.
    const queue = new Queue('archive', { connection: { url: redisServer.url } });
    try {
      await queue.remove(`archive-${id}`);
      await queue.add('archive-record', { recordId: 999 }, { jobId: `archive-${id}`, attempts: 5 });
      const worker = await start(startWorker);
      await waitForArchive(web.url, id as number, (s) => s.state === 'failed');
      // Passes go by (the record is older than 5 s by now): the job stays failed, tried once.
      await waitForLines(worker, /reconciler: the jobs of 1 record\(s\) \(1\) failed for good/, 1, 15);
      await sleep(2500);
      expect(await archiveStatus(web.url, id as number)).toMatchObject({
        state: 'failed',
        attemptsMade: 1,
        error: 'Record 999 not found',
      });
      expect(worker.output().match(/failed for good/g)).toHaveLength(1);
    } finally {
      await queue.close();
    }
  }, 60_000);
});
