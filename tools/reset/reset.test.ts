import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from '../lib/stages.ts';
import { composeDown, composeDownArgs, parseResetArgs, WHY } from './reset.ts';

describe('reset arguments', () => {
  test('a stage, optionally with the compose project it was started as', () => {
    expect(parseResetArgs(['03'])).toEqual({ stage: '03' });
    expect(parseResetArgs(['03', '--project', 'mine'])).toEqual({ stage: '03', project: 'mine' });
    expect(parseResetArgs(['-p', 'mine', '03-db'])).toEqual({ stage: '03-db', project: 'mine' });
    expect(parseResetArgs(['--project=mine', '03'])).toEqual({ stage: '03', project: 'mine' });
  });

  test('says what is wrong with the arguments', () => {
    expect(parseResetArgs([])).toEqual({ error: 'Which stage?' });
    expect(parseResetArgs(['03', '--project'])).toEqual({ error: '--project needs a name' });
    expect(parseResetArgs(['02', '03'])).toEqual({ error: 'One stage at a time (got 02 and 03)' });
    expect(parseResetArgs(['03', '--force'])).toEqual({ error: 'Unknown option --force' });
    expect(parseResetArgs(['03', '-p', 'My Project'])).toEqual({
      error: '"My Project" is not a compose project name: lower-case letters, digits, - and _',
    });
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
  const shown = readFileSync(join(findRepoRoot(), 'docs', 'output', 'reset-03.txt'), 'utf8');
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

  test('the stage’s containers and volumes are gone afterwards', () => {
    const created = spawnSync('docker', ['compose', '-p', project, 'create'], { cwd: dir, encoding: 'utf8' });
    expect(created.status).toBe(0);
    expect(volumes()).toBe(`${project}_data`);

    const { code } = composeDown(dir, project, false);
    expect(code).toBe(0);
    expect(volumes()).toBe('');
    expect(
      docker('ps', '-a', '--quiet', '--filter', `label=com.docker.compose.project=${project}`).stdout.trim(),
    ).toBe('');
  });
});
