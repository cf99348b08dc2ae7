import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from '../lib/root.ts';
import { diffFolders, summaryLine, summaryMarkdown, totals } from '../lib/stage-diff.ts';
import { listStages } from '../lib/stages.ts';

const root = repoRoot;

function writeTree(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

const packageJson = (name: string, deps: string) =>
  `{\n  "name": "${name}",\n  "version": "1.0.0",\n  "description": "Stage ${name}",\n  "dependencies": {\n${deps}\n  }\n}\n`;

describe('diff of two folders', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'diff-test-'));
    writeTree(join(work, 'a'), {
      'package.json': packageJson('workshop-01', '    "express": "5.3.0"'),
      'package-lock.json': '{"lockfileVersion": 3, "a": 1}\n',
      'node_modules/express/index.js': 'module.exports = 1;\n',
      'src/app.ts': 'one\ntwo\nthree\n',
      'old.ts': 'gone\n',
    });
    writeTree(join(work, 'b'), {
      'package.json': packageJson('workshop-02', '    "express": "5.3.0",\n    "ioredis": "6.0.0"'),
      'package-lock.json': '{"lockfileVersion": 3, "b": 2}\n',
      'node_modules/ioredis/index.js': 'module.exports = 2;\n',
      'src/app.ts': 'one\nTWO\nthree\nfour\n',
      'new.ts': 'fresh\nfile\n',
    });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const diff = () =>
    diffFolders(join(work, 'a'), join(work, 'b'), { fromLabel: 'stages/a', toLabel: 'stages/b' });

  test('lists added, changed and removed files with their line counts', () => {
    expect(diff().files).toEqual([
      { path: 'new.ts', status: 'added', added: 2, removed: 0, binary: false },
      { path: 'old.ts', status: 'removed', added: 0, removed: 1, binary: false },
      // Only the dependency line: name and description are left out.
      { path: 'package.json', status: 'changed', added: 2, removed: 1, binary: false },
      { path: 'src/app.ts', status: 'changed', added: 2, removed: 1, binary: false },
    ]);
    expect(totals(diff())).toEqual({ added: 1, changed: 2, removed: 1, linesAdded: 6, linesRemoved: 3 });
    expect(summaryLine(diff())).toBe('1 file added, 2 changed, 1 removed; +6 -3 lines');
  });

  test('leaves out node_modules, package-lock.json and the name/description lines', () => {
    const { patch, stat } = diff();
    for (const text of [patch, stat]) {
      expect(text).not.toContain('node_modules');
      expect(text).not.toContain('package-lock.json');
      expect(text).not.toContain('workshop-0');
      expect(text).not.toContain('"description"');
    }
    expect(patch).toContain('+    "ioredis": "6.0.0"');
  });

  test('names the files by their path in the stage, in the stat and in the patch', () => {
    const { patch, stat } = diff();
    expect(stat.split('\n').map((line) => line.split('|')[0]?.trim())).toEqual([
      'new.ts',
      'old.ts',
      'package.json',
      'src/app.ts',
      '4 files changed, 6 insertions(+), 3 deletions(-)',
    ]);
    expect(patch).toContain('--- stages/a/src/app.ts\n+++ stages/b/src/app.ts');
    expect(patch).toContain('-two\n+TWO');
  });

  test('the Markdown summary has one row per file', () => {
    expect(summaryMarkdown(diff())).toBe(
      [
        '**What b adds to a:** 1 file added, 2 changed, 1 removed; +6 -3 lines.',
        '',
        '| File | | Lines |',
        '| --- | --- | --- |',
        '| `new.ts` | added | +2 |',
        '| `old.ts` | removed | -1 |',
        '| `package.json` | changed | +2 -1 |',
        '| `src/app.ts` | changed | +2 -1 |',
      ].join('\n'),
    );
  });

  test('two equal folders have nothing to show', () => {
    const same = diffFolders(join(work, 'a'), join(work, 'a'), { fromLabel: 'x', toLabel: 'y' });
    expect(same.files).toEqual([]);
    expect(summaryMarkdown(same)).toBe('**y is the same as x.**');
  });
});

// Each stage against the one before it, as soon as there are two.
const stages = listStages(root);
const pairs = stages.slice(1).map((to, i) => ({ from: stages[i] ?? to, to }));

(pairs.length > 0 ? describe : describe.skip)('diff of the real stages', () => {
  test.each(pairs.length > 0 ? pairs : [{ from: stages[0], to: stages[0] }])(
    '$from.name -> $to.name',
    ({ from, to }) => {
      if (!from || !to || from === to) return;
      const diff = diffFolders(from.dir, to.dir, {
        fromLabel: `stages/${from.name}`,
        toLabel: `stages/${to.name}`,
      });
      // Every stage adds or changes services: compose.yaml always changes.
      expect(diff.files).toContainEqual(expect.objectContaining({ path: 'compose.yaml', status: 'changed' }));
      for (const file of diff.files) {
        expect(file.path).not.toMatch(/node_modules|package-lock\.json/);
        expect(existsSync(join(file.status === 'removed' ? from.dir : to.dir, file.path))).toBe(true);
        expect(existsSync(join(file.status === 'added' ? from.dir : to.dir, file.path))).toBe(
          file.status === 'changed',
        );
      }
      expect(diff.patch).not.toMatch(/^[-+]\s*"(name|description)":/m);
      expect(diff.stat.split('\n')).toHaveLength(diff.files.length + 1);
    },
  );

  test('npm run diff -- TO prints the stat, the patch and the summary against the stage before', () => {
    const { from, to } = pairs[0] ?? {};
    if (!from || !to) return;
    const cli = spawnSync(process.execPath, ['tools/diff/cli.ts', to.name], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain(`What ${to.name} adds to ${from.name}`);
    expect(cli.stdout).toMatch(/^ compose\.yaml +\| +\d+ [-+]+$/m);
    expect(cli.stdout).toContain(`--- stages/${from.name}/compose.yaml\n+++ stages/${to.name}/compose.yaml`);
    expect(cli.stdout).toMatch(
      new RegExp(
        `${from.name} -> ${to.name}: \\d+ files? added, \\d+ changed, \\d+ removed; \\+\\d+ -\\d+ lines\\n$`,
      ),
    );
    expect(cli.stdout).not.toMatch(/^(diff --git .*|.*\|.*)(package-lock\.json|node_modules)/m);
  });

  test('npm run diff -- FROM TO --summary prints the Markdown summary', () => {
    const { from, to } = pairs[0] ?? {};
    if (!from || !to) return;
    const cli = spawnSync(process.execPath, ['tools/diff/cli.ts', from.name, to.name, '--summary'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    expect(cli.stdout).toMatch(
      new RegExp(`^\\*\\*What ${to.name} adds to ${from.name}:\\*\\* \\d+ files? added`),
    );
    expect(cli.stdout).toContain('| `compose.yaml` | changed |');
  });
});
