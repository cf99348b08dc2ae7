import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { TestDatabase } from '../../../testing/isolation.ts';
import { testRedisUrl } from '../../../testing/isolation.ts';
import type { StageProcess } from '../../../testing/stage-process.ts';
import {
  archiveFiles,
  completed,
  migratedDatabase,
  postRecord,
  query as queryDatabase,
  startWeb,
  startWorker,
  tempDir,
  waitForArchive,
  writesOf,
} from './stack.ts';

// Workers that die in the middle of a job (SIGKILL: no goodbye, no cleanup),
// and workers side by side. Short locks and stalled checks, so that a job
// whose worker died is back in the queue within a few seconds: lock 2 s,
// checks every second (compose uses 10 s and 5 s).
const SHORT_LOCKS = { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' };

let database: TestDatabase;
let env: Record<string, string>;
let dir: ReturnType<typeof tempDir>;
const running: StageProcess[] = [];

beforeAll(async () => {
  database = await migratedDatabase();
});
afterAll(async () => {
  await database.drop();
});
beforeEach(async () => {
  dir = tempDir();
  env = {
    DATABASE_URL: database.url,
    REDIS_URL: await testRedisUrl(),
    ARCHIVE_DIR: dir.path,
    ...SHORT_LOCKS,
  };
  await query('TRUNCATE records RESTART IDENTITY');
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => child.stop()));
  dir.remove();
});

async function web(): Promise<string> {
  const child = await startWeb(env);
  running.push(child);
  return child.url;
}

async function worker(extra: Record<string, string> = {}): Promise<StageProcess> {
  const child = await startWorker({ ...env, ...extra });
  running.push(child);
  return child;
}

async function kill(child: StageProcess): Promise<void> {
  expect(await child.stop('SIGKILL')).toBe('SIGKILL');
  running.splice(running.indexOf(child), 1);
}

function query(sql: string) {
  return queryDatabase(database.url, sql);
}

/** The record's archive file holds the record, exactly as GET /records/:id gives it. */
async function expectArchived(url: string, id: number): Promise<void> {
  const inside = inflateSync(readFileSync(join(dir.path, `record-${id}.json.zz`))).toString('utf8');
  expect(JSON.parse(inside)).toEqual(await (await fetch(`${url}/records/${id}`)).json());
}

describe('stage 05: a worker dies in the middle of a job', () => {
  test('before the file is written: another worker takes the stalled job up again and writes it', async () => {
    const url = await web();
    const doomed = await worker({ WORKER_STEP_DELAY_MS: '1000' });
    const { body } = await postRecord(url, { title: 'interrupted' });
    // 50: loaded and compressed; the write comes after the next pause.
    await waitForArchive(url, body.id, (s) => s.state === 'active' && s.progress === 50);
    await kill(doomed);
    // The job still counts as active: nobody knows yet that its worker is gone.
    expect(archiveFiles(dir.path)).toEqual([]);

    const rescuer = await worker();
    const [last] = (await waitForArchive(url, body.id, completed)).slice(-1);
    expect(last).toMatchObject({ progress: 100, file: 'record-1.json.zz' });
    expect(rescuer.output()).toMatch(/worker: job archive-1 stalled/);
    // One file, written once, by the second worker; no temporary file left.
    expect(archiveFiles(dir.path)).toEqual(['record-1.json.zz']);
    expect(writesOf(doomed.output(), 1)).toBe(0);
    expect(writesOf(rescuer.output(), 1)).toBe(1);
    await expectArchived(url, 1);
    expect(await query('SELECT archive_file FROM records')).toEqual([{ archive_file: 'record-1.json.zz' }]);
  }, 40_000);

  test('after the file is written: the second worker finds it and leaves it alone', async () => {
    const url = await web();
    const doomed = await worker({ WORKER_STEP_DELAY_MS: '1000' });
    const { body } = await postRecord(url, { title: 'almost done' });
    // 75: the file is written, the record not yet marked as archived.
    await waitForArchive(url, body.id, (s) => s.state === 'active' && s.progress === 75);
    await kill(doomed);
    expect(writesOf(doomed.output(), 1)).toBe(1);
    const before = statSync(join(dir.path, 'record-1.json.zz'));
    expect(await query('SELECT archived_at FROM records')).toEqual([{ archived_at: null }]);

    const rescuer = await worker();
    await waitForArchive(url, body.id, completed);
    expect(rescuer.output()).toContain(
      'worker: record 1: record-1.json.zz is already there, not written again',
    );
    expect(writesOf(rescuer.output(), 1)).toBe(0);
    // The very same file: same inode, same time.
    const after = statSync(join(dir.path, 'record-1.json.zz'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(archiveFiles(dir.path)).toEqual(['record-1.json.zz']);
    await expectArchived(url, 1);
    const [row] = await query('SELECT archive_file, archived_at FROM records');
    expect(row.archive_file).toBe('record-1.json.zz');
    expect(row.archived_at).not.toBeNull();
  }, 40_000);
});

describe('stage 05: two workers, a burst of records', () => {
  test('both take jobs, and each record is archived exactly once', async () => {
    const url = await web();
    // Each job takes 4 x 100 ms, so that one worker (2 at a time) cannot take them all.
    const a = await worker({ WORKER_STEP_DELAY_MS: '100' });
    const b = await worker({ WORKER_STEP_DELAY_MS: '100' });
    const ids = (
      await Promise.all(Array.from({ length: 20 }, (_, i) => postRecord(url, { n: i + 1, burst: true })))
    ).map(({ status, body }) => {
      expect(status).toBe(201);
      return body.id as number;
    });

    for (const id of ids) await waitForArchive(url, id, completed, 30);
    expect(archiveFiles(dir.path)).toEqual(ids.map((id) => `record-${id}.json.zz`).sort());
    for (const id of ids) {
      // Written once, by one of the two.
      expect(writesOf(a.output(), id) + writesOf(b.output(), id)).toBe(1);
      await expectArchived(url, id);
    }
    const byA = ids.filter((id) => writesOf(a.output(), id) === 1).length;
    expect(byA).toBeGreaterThan(0);
    expect(byA).toBeLessThan(ids.length);
    expect(await query('SELECT count(*)::int AS n FROM records WHERE archived_at IS NOT NULL')).toEqual([
      { n: 20 },
    ]);
  }, 60_000);

  test('one of them is killed in the middle of the burst: the other finishes, still one file per record', async () => {
    const url = await web();
    const a = await worker({ WORKER_STEP_DELAY_MS: '200' });
    const b = await worker({ WORKER_STEP_DELAY_MS: '200' });
    const ids: number[] = [];
    for (let i = 1; i <= 12; i++) ids.push((await postRecord(url, { n: i })).body.id);
    // Some done, some in the hands of each worker: now a goes.
    await waitForArchive(url, ids[1] as number, completed);
    await kill(a);

    for (const id of ids) await waitForArchive(url, id, completed, 30);
    // a had jobs in hand when it died: b found them stalled and did them again.
    expect(b.output()).toMatch(/worker: job archive-\d+ stalled/);
    const files = archiveFiles(dir.path).filter((name) => name.endsWith('.json.zz'));
    expect(files).toEqual(ids.map((id) => `record-${id}.json.zz`).sort());
    for (const id of ids) {
      // Never written twice (a kill between the write and its log line could
      // hide one write of a, but not add one).
      expect(writesOf(a.output(), id) + writesOf(b.output(), id)).toBeLessThanOrEqual(1);
      await expectArchived(url, id);
    }
    expect(await query('SELECT count(*)::int AS n FROM records WHERE archived_at IS NOT NULL')).toEqual([
      { n: 12 },
    ]);
  }, 60_000);
});
