// `npm run check` as an attendee runs it: a child process against real stage
// processes (no Docker here, so the Docker checks are switched off), one that
// is up, one that is down, one whose Redis is gone, and the wrong stage.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from '../../stages/04-scale/test/cluster.ts';
import { createMigratedDatabase, testRedisUrl } from '../../testing/isolation.ts';
import { freePort, startRedis } from '../../testing/services.ts';
import { runStage, stageDir } from '../../testing/stage-process.ts';
import { repoRoot } from '../lib/root.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

function check(...args: string[]): Promise<Run> {
  const env = { ...process.env };
  for (const name of ['WEB_PORT', 'CHECK_URL', 'COMPOSE_PROJECT_NAME', 'CHECK_IN_CONTAINER'])
    delete env[name];
  const child = spawn(process.execPath, [join(repoRoot, 'tools', 'check', 'cli.ts'), ...args], {
    env,
    timeout: 60_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr, lines: stdout.trimEnd().split('\n') })),
  );
}

const PASSED = /^✓ \S.* \(\d+ ms\)$/;
const SKIPPED = /^- \S.* \(skipped: run with --no-docker\)$/;

describe('npm run check', () => {
  test('a bad command line exits 2 with the usage', async () => {
    const run = await check('7');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('There is no stage "7"');
    expect(run.stderr).toContain('Usage: npm run check -- <stage>');
  });

  test('nothing listening: one message that says how to start the stage, exit 1', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await check('02', '--url', url);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(
      `Nothing answers on ${url}. Is stage 02 running? ` +
        `cd stages/02-compose && WEB_PORT=${new URL(url).port} docker compose up --build`,
    );

    const json = await check('02', '--url', url, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ stage: '02-compose', answering: false });
  });

  describe('against stage 01', () => {
    let stage: Awaited<ReturnType<typeof runStage>>;
    beforeAll(async () => {
      stage = await runStage('01-app');
    });
    afterAll(() => stage.stop());

    test('up: a ✓ line per check, the Docker check skipped, exit 0', async () => {
      const run = await check('01', '--url', stage.url, '--no-docker');
      expect(run.code).toBe(0);
      const last = run.lines.pop();
      expect(last).toBe('3 passed, 0 failed');
      expect(run.lines.filter((line) => PASSED.test(line))).toHaveLength(3);
      expect(run.lines.filter((line) => SKIPPED.test(line))).toHaveLength(1);
      expect(run.lines).toHaveLength(4);
    });

    test('checked as stage 02, it fails and says which stage answers', async () => {
      const run = await check('2', '--url', stage.url, '--no-docker');
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('✗ GET / counts visits, one more each time (');
      expect(run.stdout).toContain('the greeting of stage 01: is it stage 01 that runs on this port?');
      expect(run.lines.at(-1)).toMatch(/^2 passed, [1-9]\d* failed$/);
    });
  });

  describe('against stage 02', () => {
    test('up: passes, and --json says the same', async () => {
      const stage = await runStage('02-compose', { env: { REDIS_URL: await testRedisUrl() } });
      try {
        const run = await check('02-compose', '--url', stage.url, '--no-docker');
        expect(run.code).toBe(0);
        expect(run.lines.at(-1)).toBe('5 passed, 0 failed');

        const json = await check('02-compose', '--url', stage.url, '--no-docker', '--json');
        expect(json.code).toBe(0);
        const report = JSON.parse(json.stdout);
        expect(report).toMatchObject({ stage: '02-compose', passed: 5, failed: 0, skipped: 3 });
        expect(report.results.map((r: { status: string }) => r.status)).toContain('skipped');
      } finally {
        await stage.stop();
      }
    });

    test('broken (its Redis stopped): the counter checks fail with a hint, exit 1', async () => {
      const redis = await startRedis();
      const stage = await runStage('02-compose', { env: { REDIS_URL: redis.url } });
      try {
        await redis.stop();
        const run = await check('02', '--url', stage.url, '--no-docker');
        expect(run.code).toBe(1);
        const at = run.lines.findIndex((line) =>
          /^✗ GET \/ counts visits, one more each time \(\d+ ms\)$/.test(line),
        );
        expect(at).toBeGreaterThanOrEqual(0);
        // What it saw, then where to look: indented under the ✗ line.
        expect(run.lines[at + 1]).toMatch(/^ {4}GET \/ answered 503 .*redis/i);
        const hint = run.lines
          .slice(at + 1)
          .find((line) => !line.startsWith('    ') || line.startsWith('    →'));
        expect(hint).toMatch(/^ {4}→ The count lives in Redis/);
        expect(run.stdout).toContain('`docker compose logs redis web`');
        expect(run.stdout).toContain('docs/02-compose.md#do-you-have-a-problem');
        expect(run.lines.at(-1)).toMatch(/^\d+ passed, [3-9] failed$/);
      } finally {
        await stage.stop();
        await redis.destroy();
      }
    });
  });

  const stage03 = existsSync(join(stageDir('03-db'), 'src', 'migrate.ts')) ? describe : describe.skip;
  stage03('against stage 03', () => {
    test('up (migrated, with its Redis and PostgreSQL): every check passes', async () => {
      const db = await createMigratedDatabase('03-db');
      const env = { DATABASE_URL: db.url, REDIS_URL: await testRedisUrl() };
      const stage = await runStage('03-db', { env });
      try {
        const run = await check('03', '--url', stage.url, '--no-docker');
        expect(run.stdout).not.toContain('✗');
        expect(run.code).toBe(0);
        expect(run.lines.at(-1)).toMatch(/^1[0-9] passed, 0 failed$/);
      } finally {
        await stage.stop();
        await db.drop();
      }
    });
  });

  describe('against stage 04 (two replicas and the proxy, on loopback)', () => {
    const OWN = [
      'requests are spread over more than one web replica (X-Served-By)',
      '40 visits at the same time, over the replicas, are each counted once',
      'a record written through one replica reads back the same through the others',
      'GET /__lb lists the replicas that answer, every one up',
    ];
    let cluster: Cluster;
    beforeAll(async () => {
      cluster = await Cluster.start();
    });
    afterAll(() => cluster.stop());

    test('up: every check passes, the four of 04 too', async () => {
      await cluster.startReplica('replica-2');
      await cluster.startReplica('replica-3');
      const proxy = await cluster.startProxy();
      const run = await check('04', '--url', proxy.url, '--no-docker');
      expect(run.stdout).not.toContain('✗');
      expect(run.code).toBe(0);
      for (const name of OWN) expect(run.lines).toContainEqual(expect.stringContaining(`✓ ${name} (`));
      // The counter check says what it saw under its line.
      expect(run.stdout).toMatch(/\n {4}40 visits answered by 2 replicas, counts \d+ to \d+\n/);
      await proxy.stop();
    });

    test('one replica left: the checks of 04 fail and name it', async () => {
      const proxy = await cluster.startProxy();
      cluster.unpublish('replica-3');
      // The proxy asks DNS again every 200 ms here: wait until it knows one replica only.
      for (let i = 0; i < 50; i++) {
        const lb = await (await fetch(`${proxy.url}/__lb`)).json();
        if (lb.replicas.length === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const run = await check('04', '--url', proxy.url, '--no-docker');
      expect(run.code).toBe(1);
      for (const name of OWN) expect(run.lines).toContainEqual(expect.stringContaining(`✗ ${name} (`));
      expect(run.stdout).toContain('requests were all answered by one replica, replica-2');
      expect(run.stdout).toContain('GET /__lb lists 1 replica(s): 127.0.0.1:');
      expect(run.stdout).toContain('docs/04-scale.md#do-you-have-a-problem');
      expect(run.lines.at(-1)).toMatch(/^\d+ passed, 4 failed$/);
    });
  });
});
