import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../lib/cli.ts';
import { repoRoot } from '../lib/root.ts';
import { composeDown, composeDownArgs, parseResetArgs, WHY } from './reset.ts';

describe('reset arguments', () => {
  test('a stage, optionally with the compose project it was started as', () => {
    expect(parseResetArgs(['03'])).toEqual({ help: false, stage: '03' });
    expect(parseResetArgs(['03', '--project', 'mine'])).toMatchObject({ stage: '03', project: 'mine' });
    expect(parseResetArgs(['-p', 'mine', '03-db'])).toMatchObject({ stage: '03-db', project: 'mine' });
    expect(parseResetArgs(['--project=mine', '03'])).toMatchObject({ stage: '03', project: 'mine' });
    expect(parseResetArgs(['03', '--help'])).toEqual({ help: true });
  });

  test.each([
    [[], 'Which stage?'],
    [['03', '--project'], '--project needs a value.'],
    [['03', '--project', '--force'], '--project needs a value.'],
    [['02', '03'], 'One stage at a time (got 02 and 03).'],
    [['03', '--force'], 'Unknown option --force.'],
    [
      ['03', '-p', 'My Project'],
      '"My Project" is not a compose project name: lower-case letters, digits, - and _',
    ],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseResetArgs(argv)).toThrow(new UsageError(message));
  });

  test('compose down removes volumes and orphans, in the given project', () => {
    expect(composeDownArgs()).toEqual(['compose', 'down', '--volumes', '--remove-orphans']);
    expect(composeDownArgs('mine')).toEqual([
      'compose',
      '-p',
      'mine',
      'down',
      '--volumes',
      '--remove-orphans',
    ]);
  });
});

test('the reset output that troubleshooting.md shows has the explanation reset prints today', () => {
  // docs/output/reset-03.txt is a real run of `npm run reset -- 03`: run it again when WHY changes.
  const shown = readFileSync(join(repoRoot, 'docs', 'output', 'reset-03.txt'), 'utf8');
  expect(shown).toContain(WHY);
});

// With a Docker engine (and the redis image, no pull): a real volume disappears.
const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
const engineReady = docker('image', 'inspect', 'redis:7-bookworm').status === 0;

(engineReady ? describe : describe.skip)('reset with Docker', () => {
  const project = `ereset-test-${process.pid}`;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reset-test-'));
    const compose =
      'services:\n  kv:\n    image: redis:7-bookworm\n    volumes: [data:/data]\nvolumes:\n  data:\n';
    writeFileSync(join(dir, 'compose.yaml'), compose);
  });
  afterAll(() => {
    spawnSync('docker', ['compose', '-p', project, 'down', '-v'], { cwd: dir, timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
  });

  const volumes = () =>
    docker(
      'volume',
      'ls',
      '--quiet',
      '--filter',
      `label=com.docker.compose.project=${project}`,
    ).stdout.trim();

  test('the stage’s containers and volumes are gone afterwards', async () => {
    const created = spawnSync('docker', ['compose', '-p', project, 'create'], { cwd: dir, encoding: 'utf8' });
    expect(created.status).toBe(0);
    expect(volumes()).toBe(`${project}_data`);

    const { code } = await composeDown(dir, project, false);
    expect(code).toBe(0);
    expect(volumes()).toBe('');
    expect(
      docker('ps', '-a', '--quiet', '--filter', `label=com.docker.compose.project=${project}`).stdout.trim(),
    ).toBe('');
  });
});
