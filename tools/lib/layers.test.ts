// The layers of the repository (docs/contributing.md draws them) and who may
// import whom, read from the import statements of every .ts file:
//
//   stages/NN-*  may import nothing outside their own folder; their tests may import testing/
//   testing/     may import stages, never the tooling
//   tools/lib    may import stages and testing (its tests), never a command
//   tools/<cmd>  may import tools/lib, testing and stages, never another command
//
// And the check image (tools/check/Dockerfile) has tools/check and tools/lib
// only, without node_modules: what `npm run check` loads imports no package.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { repoRoot } from './root.ts';

/** Where a file belongs: "stage 03-db", "testing", "tools/lib", "command check", "docs". */
function layerOf(path: string): string {
  const [top, second] = path.split('/');
  if (top === 'stages' && second) return `stage ${second}`;
  if (top === 'tools' && second === 'lib') return 'tools/lib';
  if (top === 'tools' && second && second.endsWith('.ts')) return `command ${second.slice(0, -3)}`;
  if (top === 'tools' && second) return `command ${second}`;
  return top ?? path;
}

/** Why `from` may not import `to` (both paths from the repository's root), or undefined when it may. */
function layerProblem(from: string, to: string): string | undefined {
  const a = layerOf(from);
  const b = layerOf(to);
  if (a === b) return undefined;
  const isTest = /\.test\.ts$|\/test\//.test(from);
  const why = (rule: string) => `${from} imports ${to}: ${rule}`;
  if (a.startsWith('stage ')) {
    if (b === 'testing' && isTest) return undefined;
    return why(
      `a stage imports only its own files${b === 'testing' ? ' (its tests may import testing/)' : ''}`,
    );
  }
  if (a === 'testing' && b.startsWith('stage ')) return undefined;
  if (a === 'testing') return why('testing/ may import the stages, not the tooling');
  if (a === 'tools/lib' && b.startsWith('command ')) return why('tools/lib may not import a command');
  if (a.startsWith('command ') && b.startsWith('command ')) {
    return why('a command imports tools/lib, never another command');
  }
  return undefined;
}

/** The specifiers of a file's imports: static, `export ... from`, and `import('...')` with a literal. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^'";]*?\bfrom\s+['"]([^'"]+)['"]/gm,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns)
    for (const match of source.matchAll(pattern)) found.push(match[1] as string);
  return found;
}

/** A relative specifier as a path from the repository's root. */
function resolved(from: string, specifier: string): string {
  return normalize(join(dirname(from), specifier));
}

const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], {
  cwd: repoRoot,
  encoding: 'utf8',
})
  .split('\n')
  .filter((path) => path && !path.includes('node_modules/'))
  .filter((path) => {
    try {
      readFileSync(join(repoRoot, path));
      return true;
    } catch {
      return false; // deleted in the working tree
    }
  });

describe('the rule, on small inputs', () => {
  test.each([
    ['tools/verify/cli.ts', 'tools/check/args.ts', 'a command imports tools/lib, never another command'],
    ['tools/lib/checks/run.ts', 'tools/check/session.ts', 'tools/lib may not import a command'],
    ['tools/lib/stack.ts', 'tools/typecheck.ts', 'tools/lib may not import a command'],
    ['stages/03-db/src/server.ts', 'tools/lib/stages.ts', 'a stage imports only its own files'],
    [
      'stages/03-db/src/server.ts',
      'testing/services.ts',
      'a stage imports only its own files (its tests may import testing/)',
    ],
    ['stages/04-scale/src/app.ts', 'stages/03-db/src/app.ts', 'a stage imports only its own files'],
    ['testing/services.ts', 'tools/lib/root.ts', 'testing/ may import the stages, not the tooling'],
  ])('%s may not import %s', (from, to, rule) => {
    expect(layerProblem(from, to)).toBe(`${from} imports ${to}: ${rule}`);
  });

  test.each([
    ['tools/verify/cli.ts', 'tools/lib/stack.ts'],
    ['tools/verify/cli.ts', 'tools/verify/args.ts'],
    ['tools/bench/jobs.ts', 'testing/stage-process.ts'],
    ['tools/lib/checks/tokens.ts', 'stages/06-cluster/scripts/keys.ts'],
    ['stages/03-db/test/records.test.ts', 'testing/services.ts'],
    ['stages/03-db/src/server.ts', 'stages/03-db/src/app.ts'],
    ['testing/stage-process.ts', 'stages/01-app/src/app.ts'],
  ])('%s may import %s', (from, to) => {
    expect(layerProblem(from, to)).toBeUndefined();
  });

  test('import statements, one per line or over several, and dynamic ones', () => {
    const source = [
      "import { a } from './a.ts';",
      'import {',
      '  b,',
      "  type C,\n} from '../lib/b.ts';",
      "import type { D } from 'node:fs';",
      "export { e } from './e.ts';",
      "import './side-effect.ts';",
      "const f = await import('./f.ts');",
      "// a comment that says from 'nowhere' is no import",
    ].join('\n');
    expect(importsOf(source).sort()).toEqual(
      ['../lib/b.ts', './a.ts', './e.ts', './f.ts', './side-effect.ts', 'node:fs'].sort(),
    );
  });
});

test('every .ts file imports only what its layer may', () => {
  const problems = tracked.flatMap((from) =>
    importsOf(readFileSync(join(repoRoot, from), 'utf8'))
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => layerProblem(from, resolved(from, specifier)))
      .filter((problem): problem is string => problem !== undefined),
  );
  expect(problems).toEqual([]);
});

test('what `npm run check` loads is in the check image and imports no package', () => {
  const inImage = (path: string) => /^tools\/(check|lib)\//.test(path) && !path.endsWith('.test.ts');
  const checksFiles = tracked.filter((path) => /^tools\/lib\/checks\/stages\/\d\d-[a-z-]+\.ts$/.test(path));
  const seen = new Set<string>();
  const problems: string[] = [];
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const specifier of importsOf(readFileSync(join(repoRoot, path), 'utf8'))) {
      if (specifier.startsWith('node:')) continue;
      if (!specifier.startsWith('.')) problems.push(`${path} imports the package ${specifier}`);
      else if (!inImage(resolved(path, specifier)))
        problems.push(`${path} imports ${resolved(path, specifier)}`);
      else visit(resolved(path, specifier));
    }
  };
  for (const root of ['tools/check/cli.ts', ...checksFiles]) visit(root);
  expect(checksFiles.length).toBeGreaterThan(0);
  // Stage 06's token checks sign with the stage's own script (jose), loaded only when a check makes a
  // token (tokens.ts): in the image those checks are skipped. The one exception, named here.
  expect([...new Set(problems)]).toEqual([
    'tools/lib/checks/tokens.ts imports stages/06-cluster/scripts/keys.ts',
  ]);
});
