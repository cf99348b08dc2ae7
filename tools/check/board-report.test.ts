// `npm run check -- NN --report URL --as NAME` as an attendee runs it: the
// check's own process against a real stage 01 process, reporting to a real
// board; and --watch, through the check's session, for a bounded number of rounds.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../testing/services.ts';
import { runStage } from '../../testing/stage-process.ts';
import { type BoardProcess, call, startBoard } from '../lib/board-process.ts';
import { stagesWithChecks } from '../lib/checks/stage-checks.ts';
import { repoRoot } from '../lib/root.ts';
import { parseCheckArgs } from './args.ts';
import { createCheckSession } from './session.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('npm run check --report', () => {
  let board: BoardProcess;
  let stage: Awaited<ReturnType<typeof runStage>>;
  let config: string;
  const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;

  /** The check CLI with its own config folder, where it keeps its tokens. */
  const check = (args: string[], until?: (run: Run) => boolean) => {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: config };
    for (const name of ['WEB_PORT', 'CHECK_URL', 'CHECK_REPORT', 'CHECK_AS', 'CHECK_CODE', 'CHECK_WATCH'])
      delete env[name];
    const child = spawn(process.execPath, [join(repoRoot, 'tools', 'check', 'cli.ts'), ...args], {
      env,
      timeout: 60_000,
    });
    const run: Run = { code: null, stdout: '', stderr: '' };
    const seen = () => {
      if (until?.(run)) child.kill('SIGINT');
    };
    child.stdout.on('data', (chunk) => {
      run.stdout += chunk;
      seen();
    });
    child.stderr.on('data', (chunk) => {
      run.stderr += chunk;
      seen();
    });
    return new Promise<Run>((resolve) => child.once('close', (code) => resolve({ ...run, code })));
  };
  const rows = async () => (await call(`${board.url}/api/board`)).json.rows;
  const row = async (name: string) => (await rows()).find((r: { name: string }) => r.name === name);
  /** `01 --url <stage> --no-docker --report <board> --as NAME`, then `more`. */
  const reportAs = (name: string, ...more: string[]) => [
    '01',
    ...['--url', stage.url, '--no-docker', '--report', board.url, '--as', name],
    ...more,
  ];

  beforeAll(async () => {
    board = await startBoard();
    stage = await runStage('01-app');
    config = mkdtempSync(join(tmpdir(), 'workshop-check-config-'));
  });
  afterAll(async () => {
    await stage?.stop();
    await board?.destroy();
    rmSync(config, { recursive: true, force: true });
  });

  test('two attendees report stage 01: two rows, with the stage, each check and the version, nothing else', async () => {
    for (const name of ['ada', 'grace']) {
      const run = await check(reportAs(name, '--code', board.code));
      expect(run.code).toBe(0);
      expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('3 passed, 0 failed');
      expect(run.stderr).toBe(`Reported to ${board.url} as ${name}.\n`);
    }
    const [ada, grace] = await rows();
    expect([ada.name, grace.name]).toEqual(['ada', 'grace']);
    expect(ada.cells['01-app']).toMatchObject({ passed: 3, total: 3, skipped: 1, failing: [], version });
  });

  test('the token is kept: the next run needs no code; a name taken by another is refused', async () => {
    const again = await check(reportAs('ada'));
    expect(again.code).toBe(0);
    expect((await row('ada')).cells['01-app'].reports).toBe(2);

    // Someone else (no token for "ada" in their config folder) cannot take ada's row.
    const other = mkdtempSync(join(tmpdir(), 'workshop-check-config-'));
    const before = config;
    config = other;
    const stolen = await check(reportAs('ada', '--code', board.code));
    config = before;
    rmSync(other, { recursive: true, force: true });
    expect(stolen.code).toBe(1);
    expect(stolen.stderr).toBe(
      'The board refused: the name "ada" is taken on this board: choose another (--as)\n',
    );
  });

  test('a stage that does not answer is reported as such, and a board that does not answer is said so', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const run = await check(['02', '--url', down, '--report', board.url, '--as', 'grace']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Nothing answers on ${down}.`);
    expect(run.stderr).toContain(`Reported to ${board.url} as grace.`);
    expect((await row('grace')).cells['02-compose']).toMatchObject({
      answering: false,
      failingSince: expect.any(Number),
    });

    const nowhere = await check([
      '01',
      '--url',
      stage.url,
      '--no-docker',
      '--report',
      down,
      '--code',
      'X',
      '--as',
      'ada',
    ]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(new RegExp(`^The board at ${down} does not answer \\(ECONNREFUSED\\)`));
  });

  test('--watch: Ctrl-C after the second report ends it, with the last round’s exit code', async () => {
    const args = reportAs('ada', '--watch', '5');
    const before = (await row('ada')).cells['01-app'].reports;
    const run = await check(args, (r) => (r.stderr.match(/^Reported to /gm) ?? []).length === 2);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('Next check in 5 s (Ctrl-C stops).');
    expect(run.stdout.match(/^3 passed, 0 failed$/gm)).toHaveLength(2);
    expect((await row('ada')).cells['01-app'].reports).toBe(before + 2);
  });

  test('--watch through the check session: rounds until its signal stops them', async () => {
    const stages = stagesWithChecks();
    const args = parseCheckArgs(reportAs('grace', '--watch', '5'), stages, {});
    if (args.help) throw new Error('unexpected --help');
    const stop = new AbortController();
    const out: string[] = [];
    const session = createCheckSession({
      repoRoot,
      args,
      env: { XDG_CONFIG_HOME: config },
      out: (line) => out.push(line),
      // Three rounds, then the signal that Ctrl-C gives.
      err: (line) =>
        line.startsWith('Reported') && out.filter((l) => l.endsWith('failed')).length === 3 && stop.abort(),
    });
    expect(await session.watch(stop.signal)).toBe(0);
    expect(out.filter((line) => line === '3 passed, 0 failed')).toHaveLength(3);
    expect((await row('grace')).cells['01-app']).toMatchObject({ passed: 3, total: 3 });
  }, 40_000);
});
