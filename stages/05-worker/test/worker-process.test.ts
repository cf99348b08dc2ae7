import { spawn } from 'node:child_process';
import { existsSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestDatabase } from '../../../testing/isolation.ts';
import { testRedisUrl } from '../../../testing/isolation.ts';
import { freePort, startRedis } from '../../../testing/services.ts';
import { runStage, runStageToExit, stageDir } from '../../../testing/stage-process.ts';
import {
  completed,
  migratedDatabase,
  postRecord,
  STAGE,
  startWeb,
  startWorker,
  tempDir,
  WORKER_READY,
  waitForArchive,
} from './stack.ts';

// The worker and dashboard programs from the outside: their settings, the
// worker's healthcheck, a start without Redis, and the dashboard's page.
let database: TestDatabase;
let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  database = await migratedDatabase();
});
afterAll(async () => {
  await database.drop();
});
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.remove());

describe('stage 05: the worker process', () => {
  test.each([
    ['WORKER_CONCURRENCY', '0', 'WORKER_CONCURRENCY must be a whole number from 1 to 100, got "0"'],
    [
      'WORKER_STEP_DELAY_MS',
      'slow',
      'WORKER_STEP_DELAY_MS must be a whole number from 0 to 600000, got "slow"',
    ],
    [
      'WORKER_LOCK_DURATION_MS',
      '10',
      'WORKER_LOCK_DURATION_MS must be a whole number from 1000 to 600000, got "10"',
    ],
    ['ARCHIVE_DIR', 'archive', 'ARCHIVE_DIR must be an absolute path like /archive, got "archive"'],
    // The reconciler adds jobs too, with the same options as web's.
    ['ARCHIVE_ATTEMPTS', '0', 'ARCHIVE_ATTEMPTS must be a whole number from 1 to 100, got "0"'],
    [
      'ARCHIVE_BACKOFF_MAX_MS',
      '30s',
      'ARCHIVE_BACKOFF_MAX_MS must be a whole number from 0 to 3600000, got "30s"',
    ],
    [
      'RECONCILE_INTERVAL_MS',
      '10',
      'RECONCILE_INTERVAL_MS must be a whole number from 100 to 3600000, got "10"',
    ],
    [
      'REDIS_URL',
      'http://user:secret@redis:6379',
      'REDIS_URL must be a URL that starts with redis:// or rediss://, got "http://user:***@redis:6379/"',
    ],
  ])('a bad %s (%s) stops the start with a message that names it', async (name, value, message) => {
    const { code, output } = await runStageToExit(STAGE, { script: 'src/worker.ts', env: { [name]: value } });
    expect(code).toBe(1);
    expect(output).toContain(`Configuration error: ${message}`);
    expect(output).not.toContain('secret');
  });

  test('ARCHIVE_ATTEMPTS and ARCHIVE_BACKOFF_MS are checked by web too, which sets them on each job it adds', async () => {
    for (const [name, value] of [
      ['ARCHIVE_ATTEMPTS', '0'],
      ['ARCHIVE_BACKOFF_MS', '-1'],
    ]) {
      const { code, output } = await runStageToExit(STAGE, { env: { [name as string]: value as string } });
      expect(code).toBe(1);
      expect(output).toMatch(
        new RegExp(`Configuration error: ${name} must be a whole number from \\d+ to \\d+`),
      );
    }
  });

  test('healthy while it runs and is connected: its heartbeat file is fresh', async () => {
    const heartbeat = join(dir.path, 'heartbeat');
    const env = { WORKER_HEARTBEAT_FILE: heartbeat };
    const check = async () =>
      (await runStageToExit(STAGE, { script: 'src/worker-healthcheck.ts', env })).code;
    // Before the worker runs: no file, not healthy.
    expect(await check()).toBe(1);

    const worker = await startWorker({
      DATABASE_URL: database.url,
      REDIS_URL: await testRedisUrl(),
      ARCHIVE_DIR: dir.path,
      ...env,
    });
    try {
      expect(await check()).toBe(0);
      // A heartbeat a minute old: a worker that hangs (or has lost Redis) is not healthy.
      const old = new Date(Date.now() - 60_000);
      utimesSync(heartbeat, old, old);
      expect(await check()).toBe(1);
      // The worker touches it again within 2 s.
      let code = await check();
      for (let attempt = 0; attempt < 30 && code !== 0; attempt++) {
        await sleep(100);
        code = await check();
      }
      expect(code).toBe(0);
    } finally {
      expect(await worker.stop()).toBe(0);
    }
    // A worker that stopped takes its heartbeat with it.
    expect(await check()).toBe(1);
  });

  test('starts while Redis is down, says so once, and takes jobs as soon as Redis is up', async () => {
    const redisServer = await startRedis();
    await redisServer.stop();
    const env = { DATABASE_URL: database.url, REDIS_URL: redisServer.url, ARCHIVE_DIR: dir.path };
    const heartbeat = join(dir.path, 'heartbeat');
    // Not ready (it cannot be, without Redis): started by hand, not with runStage's wait.
    // Its log goes to a file, to see when it has found Redis missing (a start
    // takes seconds on a busy machine).
    const log = join(dir.path, 'worker.log');
    const worker = runStage(STAGE, {
      script: 'src/worker.ts',
      ready: WORKER_READY,
      env: { ...env, WORKER_HEARTBEAT_FILE: heartbeat },
      logFile: log,
    });
    try {
      for (let attempt = 0; attempt < 150 && !/unavailable/.test(readLog(log)); attempt++) await sleep(100);
      await sleep(500);
      await redisServer.start();
      const ready = await worker;
      expect(
        ready.output().match(/redis: .* is unavailable \(.*ECONNREFUSED.*\); waiting for it/g),
      ).toHaveLength(1);
      expect(ready.output().match(/redis: connected to/g)).toHaveLength(1);

      const web = await startWeb(env);
      try {
        const { body } = await postRecord(web.url, { title: 'late start' });
        await waitForArchive(web.url, body.id, completed);
      } finally {
        await web.stop();
      }
      expect(await ready.stop()).toBe(0);
    } finally {
      (await worker.catch(() => undefined))?.child.kill('SIGKILL');
      await redisServer.destroy();
    }
  }, 30_000);

  test('SIGTERM while it still waits for Redis: it exits 0 all the same', async () => {
    const child = spawn(process.execPath, ['src/worker.ts'], {
      cwd: stageDir(STAGE),
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        WORKER_HEARTBEAT_FILE: join(dir.path, 'heartbeat'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
    try {
      for (let attempt = 0; attempt < 100 && !/is unavailable/.test(output); attempt++) await sleep(50);
      expect(output).toMatch(/redis: 127\.0\.0\.1:\d+ is unavailable \(.*ECONNREFUSED.*\); waiting for it/);
      child.kill('SIGTERM');
      // No job can be finished without Redis: it does not wait for one.
      expect(await Promise.race([exited, sleep(10_000, 'still running', { ref: false })])).toBe(0);
      expect(output).toContain('stopped');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

describe('stage 05: the dashboard', () => {
  test('serves bull-board, which shows the archive queue and its jobs', async () => {
    const redisUrl = await testRedisUrl();
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl, ARCHIVE_DIR: dir.path };
    const dashboard = await runStage(STAGE, { script: 'src/dashboard.ts', env: { REDIS_URL: redisUrl } });
    const web = await startWeb(env);
    try {
      const page = await fetch(dashboard.url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toMatch(/<title>[^<]*<\/title>/);

      const { body } = await postRecord(web.url, { title: 'on the board' });
      const api = await fetch(`${dashboard.url}/api/queues`);
      expect(api.status).toBe(200);
      const { queues } = (await api.json()) as { queues: { name: string; counts: Record<string, number> }[] };
      expect(queues.map((queue) => queue.name)).toEqual(['archive']);
      expect(queues[0]?.counts.waiting).toBe(1);

      const job = await fetch(`${dashboard.url}/api/queues/archive/${body.archive.jobId}`);
      expect(job.status).toBe(200);
      expect((await job.json()).job).toMatchObject({ id: `archive-${body.id}`, data: { recordId: body.id } });

      const health = await fetch(`${dashboard.url}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok', dependencies: { redis: 'up' } });
    } finally {
      await web.stop();
      expect(await dashboard.stop()).toBe(0);
    }
    expect(dashboard.output()).toContain('stopped');
  });
});

function readLog(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}
