// What a stage adds to the one before: `git diff --no-index` between the two
// folders, without what only adds noise: node_modules, package-lock.json (it
// changes with every dependency) and the name/description lines of
// package.json (every stage has its own). The files are copied to a
// temporary folder first, so git sees exactly the files that are compared.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Left out of every comparison. */
export const IGNORED_NAMES = new Set(['node_modules', 'package-lock.json', '.git']);

export interface FileChange {
  /** Relative to the stage folder: "src/app.ts". */
  readonly path: string;
  readonly status: 'added' | 'changed' | 'removed';
  readonly added: number;
  readonly removed: number;
  readonly binary: boolean;
}

export interface StageDiff {
  /** Labels of the two sides, e.g. "stages/01-app" and "stages/02-compose". */
  readonly from: string;
  readonly to: string;
  readonly files: FileChange[];
  /** `git diff --stat`, with the paths relative to the stage folder. */
  readonly stat: string;
  /** The patch itself. */
  readonly patch: string;
}

export interface DiffOptions {
  /** How the two sides are named in the output ("stages/01-app"). */
  fromLabel: string;
  toLabel: string;
  color?: boolean;
}

/** The files of a folder that a comparison looks at, relative and sorted. */
export function comparedFiles(dir: string): string[] {
  // Inside a git work tree, git knows what is ignored (.gitignore: logs,
  // .env.local...); elsewhere (a copy, a test folder) we walk the folder.
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: dir,
    encoding: 'utf8',
  });
  const listed = git.status === 0 ? git.stdout.split('\0').filter(Boolean) : walk(dir);
  return listed
    .filter((path) => !path.split('/').some((part) => IGNORED_NAMES.has(part)))
    .filter((path) => isFile(join(dir, path)))
    .sort();
}

function walk(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (IGNORED_NAMES.has(entry.name)) return [];
    return entry.isDirectory() ? walk(dir, path) : [path];
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** package.json without its "name" and "description" lines. */
export function withoutIdentity(packageJson: string): string {
  return packageJson
    .split('\n')
    .filter((line) => !/^\s{0,2}"(name|description)"\s*:/.test(line))
    .join('\n');
}

function copyForComparison(dir: string, into: string): void {
  mkdirSync(into, { recursive: true });
  for (const path of comparedFiles(dir)) {
    const source = join(dir, path);
    const target = join(into, path);
    mkdirSync(dirname(target), { recursive: true });
    if (path === 'package.json') writeFileSync(target, withoutIdentity(readFileSync(source, 'utf8')));
    else copyFileSync(source, target);
    chmodSync(target, statSync(source).mode & 0o777);
  }
}

function git(cwd: string, args: string[]): string {
  const result = spawnSync(
    'git',
    ['-c', 'core.quotepath=off', 'diff', '--no-index', '--no-renames', ...args],
    {
      cwd,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  // git diff --no-index exits 1 when the folders differ, 0 when they do not.
  if (result.error) throw new Error(`git could not run: ${result.error.message}. Is git installed?`);
  if (result.status !== 0 && result.status !== 1) throw new Error(`git diff failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** Compares two folders (two stages, or any two folders in the tests). */
export function diffFolders(fromDir: string, toDir: string, options: DiffOptions): StageDiff {
  const { fromLabel, toLabel } = options;
  if (fromLabel === toLabel) throw new Error(`Compare two different stages, not ${fromLabel} with itself.`);
  const work = mkdtempSync(join(tmpdir(), 'workshop-diff-'));
  try {
    copyForComparison(fromDir, join(work, fromLabel));
    copyForComparison(toDir, join(work, toLabel));
    const sides = [fromLabel, toLabel];
    const color = options.color ? '--color=always' : '--color=never';

    // One NUL-separated record per file: "added\tremoved\t", from-path, to-path.
    const numstat = git(work, ['-z', '--numstat', ...sides]).split('\0');
    const files: FileChange[] = [];
    for (let i = 0; i + 2 < numstat.length; i += 3) {
      const [added = '', removed = ''] = (numstat[i] ?? '').split('\t');
      const before = numstat[i + 1] ?? '';
      const after = numstat[i + 2] ?? '';
      const status = before === '/dev/null' ? 'added' : after === '/dev/null' ? 'removed' : 'changed';
      const side = status === 'added' ? after : before;
      const label = status === 'added' ? toLabel : fromLabel;
      files.push({
        path: side.slice(label.length + 1),
        status,
        added: Number(added) || 0,
        removed: Number(removed) || 0,
        binary: added === '-',
      });
    }
    const stat = renameStat(git(work, ['--stat=200', color, ...sides]), files);
    const patch = git(work, ['--no-prefix', color, ...sides]);
    return { from: fromLabel, to: toLabel, files, stat, patch };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** git's stat names each file "stages/{01-app => 02-compose}/src/app.ts": keep "src/app.ts". */
function renameStat(stat: string, files: readonly FileChange[]): string {
  const lines = stat.split('\n').filter((line) => line !== '');
  const rows = lines.slice(0, files.length).map((line, i) => ({
    name: files[i]?.path ?? '',
    graph: line.slice(line.indexOf('|')),
  }));
  const width = Math.max(0, ...rows.map((row) => row.name.length));
  return [...rows.map((row) => ` ${row.name.padEnd(width)} ${row.graph}`), ...lines.slice(files.length)].join(
    '\n',
  );
}

export interface Totals {
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  readonly linesAdded: number;
  readonly linesRemoved: number;
}

export function totals(diff: StageDiff): Totals {
  const count = (status: FileChange['status']) => diff.files.filter((file) => file.status === status).length;
  return {
    added: count('added'),
    changed: count('changed'),
    removed: count('removed'),
    linesAdded: diff.files.reduce((sum, file) => sum + file.added, 0),
    linesRemoved: diff.files.reduce((sum, file) => sum + file.removed, 0),
  };
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** "3 files added, 4 changed, 0 removed; +120 -15 lines" */
export function summaryLine(diff: StageDiff): string {
  const t = totals(diff);
  const files = `${plural(t.added, 'file')} added, ${t.changed} changed, ${t.removed} removed`;
  return `${files}; +${t.linesAdded} -${t.linesRemoved} lines`;
}

/** The summary in Markdown, as a chapter opens with it. */
export function summaryMarkdown(diff: StageDiff): string {
  const name = (label: string) => basename(label);
  const rows = diff.files.map((file) => {
    const lines = file.binary
      ? 'binary'
      : [file.added ? `+${file.added}` : '', file.removed ? `-${file.removed}` : '']
          .filter(Boolean)
          .join(' ');
    return `| \`${file.path}\` | ${file.status} | ${lines || '0'} |`;
  });
  if (rows.length === 0) return `**${name(diff.to)} is the same as ${name(diff.from)}.**`;
  return [
    `**What ${name(diff.to)} adds to ${name(diff.from)}:** ${summaryLine(diff)}.`,
    '',
    '| File | | Lines |',
    '| --- | --- | --- |',
    ...rows,
  ].join('\n');
}
