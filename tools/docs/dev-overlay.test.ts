// Live reload: from stage 02 on, each stage has a compose.dev.yaml that the
// chapter starts with `docker compose -f compose.yaml -f compose.dev.yaml up --build --watch`.
// Compose accepts a watch rule whose path does not exist, or a service that
// compose.yaml does not have, and then silently watches nothing; Compose 2.26
// also skips, without a word, a service that has no `build:`. So these rules
// are checked here, for every stage, and shown failing on made-up stages below:
//
// - the file exists, and each of its services is a service of compose.yaml;
// - each watch rule has a known action, a path that exists, and a target for a sync;
// - a watched service can be built (`build:` in compose.yaml or in the overlay);
// - a watched service copies ./src to /app/src and restarts (sync+restart); the
//   service that compose.yaml builds also rebuilds on package.json and
//   package-lock.json (the others on the same image need not: with Compose 2.26,
//   two services rebuilding at once trip over each other, and a service that
//   depends on the rebuilt one is recreated with it);
// - it sets `user` to a number: the engine looks a user name up on its own
//   machine, where there is no `node`, and every copy fails;
// - every service that keeps running on the app's image (built here, or
//   `image: ${COMPOSE_PROJECT_NAME}-web`) is watched; one-shot services
//   (another service waits for them with `service_completed_successfully`)
//   are not: they have exited, and Compose copies into running containers only.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${COMPOSE_PROJECT_NAME} is compose's variable, not a template
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../lib/root.ts';
import { listStages, type Stage } from '../lib/stages.ts';

const OVERLAY = 'compose.dev.yaml';
const APP_IMAGE = '${COMPOSE_PROJECT_NAME}-web';
const ACTIONS = new Set(['sync', 'rebuild', 'sync+restart']);

interface WatchRule {
  path?: unknown;
  action?: unknown;
  target?: unknown;
}

interface Service {
  build?: unknown;
  image?: unknown;
  user?: unknown;
  depends_on?: unknown;
  develop?: { watch?: WatchRule[] };
}

function readServices(file: string): Record<string, Service> {
  const doc = (parse(readFileSync(file, 'utf8')) ?? {}) as { services?: Record<string, Service | null> };
  return Object.fromEntries(Object.entries(doc.services ?? {}).map(([name, s]) => [name, s ?? {}]));
}

/** Services that others wait for until they have exited: `condition: service_completed_successfully`. */
function oneShotServices(services: Record<string, Service>): Set<string> {
  const oneShot = new Set<string>();
  for (const service of Object.values(services)) {
    const dependsOn = service.depends_on;
    if (typeof dependsOn !== 'object' || dependsOn === null || Array.isArray(dependsOn)) continue;
    for (const [name, dependency] of Object.entries(dependsOn as Record<string, { condition?: string }>)) {
      if (dependency?.condition === 'service_completed_successfully') oneShot.add(name);
    }
  }
  return oneShot;
}

/** `./src`, `src/`, `src` all name the folder src of the stage. */
function normalize(path: string): string {
  return path.replace(/^\.\//, '').replace(/\/+$/, '');
}

/** Everything wrong with a stage's compose.dev.yaml; [] when it is right. */
function overlayProblems(stage: Stage): string[] {
  const where = `stages/${stage.name}/${OVERLAY}`;
  if (!existsSync(join(stage.dir, OVERLAY))) {
    return [`${where} is missing: live reload starts from it (see docs/02-compose.md)`];
  }
  const base = readServices(join(stage.dir, 'compose.yaml'));
  const overlay = readServices(join(stage.dir, OVERLAY));
  const problems: string[] = [];

  for (const [name, service] of Object.entries(overlay)) {
    if (!(name in base)) {
      problems.push(`${where}: service "${name}" is not a service of compose.yaml`);
      continue;
    }
    const rules = service.develop?.watch ?? [];
    if (rules.length === 0) continue;
    for (const rule of rules) {
      const path = typeof rule.path === 'string' ? rule.path : '';
      if (!ACTIONS.has(String(rule.action))) {
        problems.push(`${where}: ${name} watches "${path}" with the unknown action "${String(rule.action)}"`);
      }
      if (path === '' || !existsSync(join(stage.dir, path))) {
        problems.push(`${where}: ${name} watches "${path}", which does not exist in stages/${stage.name}`);
      }
      if (String(rule.action).startsWith('sync') && typeof rule.target !== 'string') {
        problems.push(`${where}: ${name} syncs "${path}" without a target in the container`);
      }
    }
    if (service.build === undefined && base[name]?.build === undefined) {
      problems.push(
        `${where}: ${name} has no build: in compose.yaml or here, and Compose 2.26 does not watch it (add \`build: .\`)`,
      );
    }
    const has = (path: string, action: string, target?: string) =>
      rules.some(
        (rule) =>
          typeof rule.path === 'string' &&
          normalize(rule.path) === path &&
          rule.action === action &&
          (target === undefined || rule.target === target),
      );
    if (!has('src', 'sync+restart', '/app/src')) {
      problems.push(`${where}: ${name} does not sync+restart ./src to /app/src`);
    }
    for (const file of ['package.json', 'package-lock.json']) {
      if (base[name]?.build !== undefined && !has(file, 'rebuild')) {
        problems.push(`${where}: ${name} does not rebuild when ${file} changes`);
      }
    }
    if (!/^\d+(:\d+)?$/.test(String(service.user ?? base[name]?.user ?? ''))) {
      problems.push(
        `${where}: ${name} needs \`user: "1000"\` (a number): the engine cannot find the user "node" by name, and the copy fails`,
      );
    }
  }

  const oneShot = oneShotServices(base);
  for (const [name, service] of Object.entries(base)) {
    const runsTheApp = service.build !== undefined || service.image === APP_IMAGE;
    if (!runsTheApp || oneShot.has(name)) continue;
    if ((overlay[name]?.develop?.watch ?? []).length === 0) {
      problems.push(`${where}: ${name} runs the app's image but is not watched: it would keep the old code`);
    }
  }
  return problems;
}

describe('every stage from 02 on reloads live with its compose.dev.yaml', () => {
  const stages = listStages(repoRoot).filter((stage) => stage.number >= 2);

  test('there are such stages', () => {
    expect(stages.map((stage) => stage.name)).toEqual(expect.arrayContaining(['02-compose', '03-db']));
  });

  test.each(stages.map((stage) => [stage.name, stage] as const))('%s', (_name, stage) => {
    expect(overlayProblems(stage)).toEqual([]);
  });
});

describe('the overlay rules, on made-up stages', () => {
  let dir: string;
  const stage = (): Stage => ({ number: 2, name: '02-made-up', dir, chapter: 'docs/02-made-up.md' });
  const write = (path: string, text: string) => writeFileSync(join(dir, path), text);

  const COMPOSE = [
    'services:',
    '  web:',
    '    build: .',
    '    depends_on:',
    '      migrate:',
    '        condition: service_completed_successfully',
    '  migrate:',
    '    image: ${COMPOSE_PROJECT_NAME}-web',
    '  redis:',
    '    image: redis:7-bookworm',
    '',
  ].join('\n');
  const RULES = [
    '    develop:',
    '      watch:',
    '        - path: ./src',
    '          action: sync+restart',
    '          target: /app/src',
    '        - path: ./package.json',
    '          action: rebuild',
    '        - path: ./package-lock.json',
    '          action: rebuild',
  ];
  const overlay = (...lines: string[]) => write(OVERLAY, `${['services:', ...lines].join('\n')}\n`);
  const GOOD = ['  web:', '    user: "1000"', ...RULES];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dev-overlay-'));
    mkdirSync(join(dir, 'src'));
    write('package.json', '{}\n');
    write('package-lock.json', '{}\n');
    write('compose.yaml', COMPOSE);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a right overlay has no problems (the one-shot migrate needs no watch)', () => {
    overlay(...GOOD);
    expect(overlayProblems(stage())).toEqual([]);
  });

  test('a missing overlay', () => {
    expect(overlayProblems(stage())).toEqual([expect.stringContaining('compose.dev.yaml is missing')]);
  });

  test('a service that compose.yaml does not have', () => {
    overlay(...GOOD, '  wbe:', '    user: "1000"', ...RULES);
    expect(overlayProblems(stage())).toEqual([
      expect.stringContaining('"wbe" is not a service of compose.yaml'),
    ]);
  });

  test('a watched path that does not exist', () => {
    overlay(...GOOD.map((line) => line.replace('./src', './source')));
    expect(overlayProblems(stage())).toEqual([
      expect.stringContaining('watches "./source", which does not exist'),
      expect.stringContaining('does not sync+restart ./src to /app/src'),
    ]);
  });

  test('a sync to the wrong place, a plain sync, a missing rebuild, an unknown action', () => {
    overlay(...GOOD.map((line) => line.replace('/app/src', '/src')));
    expect(overlayProblems(stage())).toEqual([expect.stringContaining('does not sync+restart ./src')]);
    overlay(...GOOD.map((line) => line.replace('sync+restart', 'sync')));
    expect(overlayProblems(stage())).toEqual([expect.stringContaining('does not sync+restart ./src')]);
    overlay(...GOOD.slice(0, -2));
    expect(overlayProblems(stage())).toEqual([
      expect.stringContaining('does not rebuild when package-lock.json changes'),
    ]);
    overlay(...GOOD.map((line) => line.replace('sync+restart', 'copy')));
    expect(overlayProblems(stage())).toEqual([
      expect.stringContaining('unknown action "copy"'),
      expect.stringContaining('does not sync+restart ./src'),
    ]);
  });

  test('a sync without a target', () => {
    overlay(...GOOD.filter((line) => !line.includes('target:')));
    expect(overlayProblems(stage())).toEqual([
      expect.stringContaining('syncs "./src" without a target'),
      expect.stringContaining('does not sync+restart ./src'),
    ]);
  });

  test('no user, or the user by name', () => {
    overlay(...GOOD.filter((line) => !line.includes('user:')));
    expect(overlayProblems(stage())).toEqual([expect.stringContaining('needs `user: "1000"`')]);
    overlay(...GOOD.map((line) => line.replace('"1000"', 'node')));
    expect(overlayProblems(stage())).toEqual([expect.stringContaining('needs `user: "1000"`')]);
  });

  test('a long-running service on the app image that is not watched, or watched without a build', () => {
    write('compose.yaml', `${COMPOSE}  worker:\n    image: \${COMPOSE_PROJECT_NAME}-web\n`);
    overlay(...GOOD);
    expect(overlayProblems(stage())).toEqual([
      expect.stringContaining("worker runs the app's image but is not watched"),
    ]);
    overlay(...GOOD, '  worker:', '    user: "1000"', ...RULES);
    expect(overlayProblems(stage())).toEqual([expect.stringContaining('worker has no build:')]);
    overlay(...GOOD, '  worker:', '    build: .', '    user: "1000"', ...RULES);
    expect(overlayProblems(stage())).toEqual([]);
    // Only the service that compose.yaml builds must rebuild on package*.json.
    overlay(...GOOD, '  worker:', '    build: .', '    user: "1000"', ...RULES.slice(0, 5));
    expect(overlayProblems(stage())).toEqual([]);
  });

  test('web without any watch rule', () => {
    overlay('  web:', '    user: "1000"');
    expect(overlayProblems(stage())).toEqual([
      expect.stringContaining("web runs the app's image but is not watched"),
    ]);
  });
});
