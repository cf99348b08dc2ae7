import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { TestDatabase } from '../../../testing/isolation.ts';
import { testRedisUrl } from '../../../testing/isolation.ts';
import type { StageProcess } from '../../../testing/stage-process.ts';
import {
  type ArchiveStatus,
  archiveFiles,
  archiveStatus,
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

// The real programs: web and worker processes, one database, one Redis
// database number, and an archive folder per test.
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
  // A new Redis database for each test: the job ids come from the record ids.
  env = { DATABASE_URL: database.url, REDIS_URL: await testRedisUrl(), ARCHIVE_DIR: dir.path };
  await query('TRUNCATE records RESTART IDENTITY');
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => child.stop()));
  dir.remove();
});

async function web(extra: Record<string, string> = {}): Promise<string> {
  const child = await startWeb({ ...env, ...extra });
  running.push(child);
  return child.url;
}

async function worker(extra: Record<string, string> = {}): Promise<StageProcess> {
  const child = await startWorker({ ...env, ...extra });
  running.push(child);
  return child;
}

function query(sql: string) {
  return queryDatabase(database.url, sql);
}

describe('stage 05: the worker archives each new record', () => {
  test('the file holds the record, zlib-compressed, written once; Postgres notes it', async () => {
    const url = await web();
    const one = await worker();
    const data = { title: 'Tëst ✓', tags: ['docker', 'compose'], nested: { n: 1.5 } };
    const created = await postRecord(url, data);
    expect(created.status).toBe(201);
    const id = created.body.id;

    const [last] = (await waitForArchive(url, id, completed)).slice(-1);
    expect(last).toMatchObject({
      id,
      jobId: `archive-${id}`,
      state: 'completed',
      progress: 100,
      attemptsMade: 1,
      error: null,
      file: `record-${id}.json.zz`,
      source: 'queue',
    });
    // What a colleague would do with the file: inflate it and read the JSON.
    expect(archiveFiles(dir.path)).toEqual([`record-${id}.json.zz`]);
    const inside = inflateSync(readFileSync(join(dir.path, `record-${id}.json.zz`))).toString('utf8');
    expect(JSON.parse(inside)).toEqual({ id, data });
    expect(JSON.parse(inside)).toEqual(await (await fetch(`${url}/records/${id}`)).json());

    const [row] = await query(`SELECT archived_at, archive_file FROM records WHERE id = ${id}`);
    expect(row.archive_file).toBe(`record-${id}.json.zz`);
    expect(new Date(row.archived_at).toISOString()).toBe(last?.archivedAt);
    expect(writesOf(one.output(), id)).toBe(1);
  });

  test('the progress climbs step by step to 100 (WORKER_STEP_DELAY_MS makes it watchable)', async () => {
    const url = await web();
    await worker({ WORKER_STEP_DELAY_MS: '400' });
    const { body } = await postRecord(url, { title: 'watch me' });
    const seen = await waitForArchive(url, body.id, completed);

    const progress = seen.map((status) => status.progress);
    // Never backwards, only at the worker's steps, and all the way up.
    expect(progress).toEqual(progress.toSorted((a, b) => a - b));
    expect(new Set(progress).size).toBeGreaterThan(2);
    for (const value of progress) expect([0, 25, 50, 75, 100]).toContain(value);
    expect(seen.at(-1)).toMatchObject({ state: 'completed', progress: 100 });
    // In between, the job was seen at work.
    expect(seen.some((status) => status.state === 'active' && status.progress > 0)).toBe(true);
  });

  test('a failing step is retried after a pause that grows; once the cause is gone, the job completes', async () => {
    // The archive folder is not there yet (a volume that is not mounted): every write fails.
    const missing = join(dir.path, 'not-yet');
    const url = await web({ ARCHIVE_ATTEMPTS: '5', ARCHIVE_BACKOFF_MS: '300' });
    const one = await worker({ ARCHIVE_DIR: missing });
    const { body } = await postRecord(url, { title: 'try again' });

    const failedOnce = await waitForArchive(url, body.id, (s) => s.attemptsMade === 1);
    const retrying = failedOnce.at(-1) as ArchiveStatus;
    // Waiting for its next try; the error says what went wrong.
    expect(['delayed', 'waiting', 'active']).toContain(retrying.state);
    expect(retrying.error).toMatch(
      /^ENOENT: no such file or directory, open '.*\/not-yet\/record-1\.json\.zz\./,
    );
    expect(retrying.archivedAt).toBeNull();

    mkdirSync(missing);
    const [last] = (await waitForArchive(url, body.id, completed)).slice(-1);
    expect(last?.attemptsMade).toBeGreaterThanOrEqual(2);
    expect(last?.file).toBe('record-1.json.zz');
    // The error of the last failed attempt stays visible after the success.
    expect(last?.error).toMatch(/^ENOENT/);
    expect(archiveFiles(missing)).toEqual(['record-1.json.zz']);
    expect(one.output()).toMatch(/worker: job archive-1 failed \(attempt 1 of 5\): ENOENT/);
    expect(writesOf(one.output(), 1)).toBe(1);
  });

  test('a job that uses up its attempts ends failed, with its error; the reconciler retries it until it completes', async () => {
    const url = await web({ ARCHIVE_ATTEMPTS: '3', ARCHIVE_BACKOFF_MS: '100' });
    const missing = join(dir.path, 'not-yet');
    // The reconciler looks every second here (compose: every 10 s).
    const one = await worker({
      ARCHIVE_DIR: missing,
      ARCHIVE_ATTEMPTS: '3',
      ARCHIVE_BACKOFF_MS: '100',
      RECONCILE_INTERVAL_MS: '1000',
    });
    const { body } = await postRecord(url, { title: 'not yet' });

    const [last] = (await waitForArchive(url, body.id, (s) => s.state === 'failed')).slice(-1);
    expect(last).toMatchObject({ state: 'failed', attemptsMade: 3, file: null, archivedAt: null });
    expect(last?.error).toMatch(/^ENOENT: no such file or directory, open '.*\/not-yet\//);
    expect(one.output()).toMatch(/failed \(attempt 3 of 3\)/);
    // Not final: a failure that is not an UnrecoverableError may go away. The
    // reconciler gives the job its attempts again, as long as it takes.
    await waitForArchive(url, body.id, () =>
      /reconciler: retried the failed jobs of 1 record/.test(one.output()),
    );
    mkdirSync(missing);
    await waitForArchive(url, body.id, completed, 30);
    expect(archiveFiles(missing)).toEqual(['record-1.json.zz']);
    expect(writesOf(one.output(), 1)).toBe(1);
  });

  test('SIGTERM: the worker finishes the job in hand, takes no new one, and exits 0', async () => {
    const url = await web();
    // One job at a time, each step half a second.
    const one = await worker({ WORKER_STEP_DELAY_MS: '500', WORKER_CONCURRENCY: '1' });
    const first = (await postRecord(url, { title: 'in hand' })).body.id;
    await waitForArchive(url, first, (s) => s.state === 'active' && s.progress >= 25);
    const second = (await postRecord(url, { title: 'next in line' })).body.id;

    const exited = one.stop('SIGTERM');
    expect(await exited).toBe(0);
    running.splice(running.indexOf(one), 1);
    const output = one.output();
    expect(output).toContain('SIGTERM received, finishing the jobs in hand');
    // The job in hand was done by this worker, in one attempt, before it stopped...
    expect(output.indexOf('SIGTERM received')).toBeLessThan(output.indexOf(`worker: record ${first}: wrote`));
    expect(output.indexOf(`worker: record ${first}: wrote`)).toBeLessThan(output.indexOf('stopped'));
    expect(await archiveStatus(url, first)).toMatchObject({ state: 'completed', attemptsMade: 1 });
    // ...the next one was left in the queue for another worker.
    expect(await archiveStatus(url, second)).toMatchObject({ state: 'waiting', attemptsMade: 0 });
    await worker();
    await waitForArchive(url, second, completed);
    expect(archiveFiles(dir.path)).toEqual([`record-${first}.json.zz`, `record-${second}.json.zz`]);
  });
});
