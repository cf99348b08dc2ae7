// Each docs rule, failing and passing on small made-up repositories: the
// proof that docs.test.ts can fail.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkDocs, syncDoc } from './check.ts';
import { checkFragments } from './fragments.ts';
import { checkIncludes } from './includes.ts';
import { checkLinks } from './links.ts';
import { anchorsOf, type Doc, formatProblem, githubSlug, splitLines } from './markdown.ts';
import { checkMermaid, diagramServices } from './mermaid.ts';
import { extractListing } from './regions.ts';
import { checkStageReadmes } from './stages.ts';
import { checkSummaries } from './summaries.ts';

let root: string;

function write(path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

function doc(path: string, text: string): Doc {
  write(path, text);
  return { path, lines: splitLines(text) };
}

const md = (...lines: string[]) => `${lines.join('\n')}\n`;
const messages = (problems: { doc: string; line: number; message: string }[]) => problems.map(formatProblem);

const APP = md(
  "import express from 'express';",
  '',
  '// #region routes',
  'export function routes(app) {',
  '  // #region hello',
  "  app.get('/', hello);",
  '  // #endregion hello',
  '}',
  '// #endregion routes',
);

const COMPOSE = md(
  'services:',
  '  # #region web',
  '  web:',
  '    build: .',
  '  # #endregion web',
  '  redis:',
  '    image: redis:7-bookworm',
  'volumes:',
  '  data:',
);

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'docs-test-'));
  write('package.json', '{}\n');
  write('stages/01-app/src/app.ts', APP);
  write('stages/01-app/compose.yaml', COMPOSE);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('regions', () => {
  test('a whole file leaves out every region marker', () => {
    expect(extractListing(APP, 'app.ts').lines).toEqual([
      "import express from 'express';",
      '',
      'export function routes(app) {',
      "  app.get('/', hello);",
      '}',
    ]);
  });

  test('a region leaves out its own markers and those of the regions inside it', () => {
    expect(extractListing(APP, 'app.ts', 'routes')).toEqual({
      lines: ['export function routes(app) {', "  app.get('/', hello);", '}'],
      from: 4,
      to: 8,
    });
    expect(extractListing(APP, 'app.ts', 'hello').lines).toEqual(["  app.get('/', hello);"]);
  });

  test('YAML and Dockerfiles mark regions with # #region', () => {
    expect(extractListing(COMPOSE, 'compose.yaml', 'web').lines).toEqual(['  web:', '    build: .']);
  });

  test('markers that do not pair up are an error naming the line', () => {
    expect(() => extractListing(md('// #region a', 'x'), 'f.ts', 'a')).toThrow(
      'f.ts:1: region "a" is never closed with #endregion a',
    );
    expect(() => extractListing(md('x', '// #endregion a'), 'f.ts')).toThrow(
      'f.ts:2: #endregion a has no #region a before it',
    );
    expect(() => extractListing(md('// #region a', '// #endregion a', '// #region a'), 'f.ts')).toThrow(
      'f.ts:3: region "a" is opened again (first at line 1)',
    );
  });
});

describe('includes', () => {
  const listing = (target: string, lang: string, ...lines: string[]) =>
    md('# Title', '', `<!-- include: ${target} -->`, `\`\`\`${lang}`, ...lines, '```', '<!-- /include -->');

  test('a listing equal to its region passes', () => {
    const d = doc(
      'docs/01-app.md',
      listing('stages/01-app/src/app.ts#hello', 'ts', "  app.get('/', hello);"),
    );
    expect(checkIncludes(root, d)).toEqual([]);
  });

  test('a listing that differs from its source fails, naming doc, line, source and the lines', () => {
    write('stages/01-app/src/app.ts', APP.replace("app.get('/', hello)", "app.get('/hello', hello)"));
    const d = doc(
      'docs/01-app.md',
      listing('stages/01-app/src/app.ts#hello', 'ts', "  app.get('/', hello);"),
    );
    expect(messages(checkIncludes(root, d))).toEqual([
      'docs/01-app.md:3: the listing of stages/01-app/src/app.ts#hello differs from its source ' +
        '(stages/01-app/src/app.ts lines 6-6); run `npm run docs:sync` to copy the source into the doc.\n' +
        '  (- what the doc shows, + what the source has)\n' +
        '    @@ listing line 1 @@\n' +
        "    -   app.get('/', hello);\n" +
        "    +   app.get('/hello', hello);",
    ]);
  });

  test('a whole-file listing must have every line, not just most', () => {
    const lines = splitLines(APP).filter((line) => !line.includes('#'));
    expect(
      checkIncludes(root, doc('docs/a.md', listing('stages/01-app/src/app.ts', 'ts', ...lines))),
    ).toEqual([]);
    const cut = lines.slice(0, -1);
    expect(
      messages(checkIncludes(root, doc('docs/a.md', listing('stages/01-app/src/app.ts', 'ts', ...cut)))),
    ).toEqual([expect.stringContaining('+ }')]);
  });

  test('a missing file or region fails', () => {
    const missingFile = doc('docs/a.md', listing('stages/01-app/src/nope.ts', 'ts', 'x'));
    expect(messages(checkIncludes(root, missingFile))).toEqual([
      'docs/a.md:3: cannot include stages/01-app/src/nope.ts: stages/01-app/src/nope.ts does not exist',
    ]);
    const missingRegion = doc('docs/a.md', listing('stages/01-app/src/app.ts#records', 'ts', 'x'));
    expect(messages(checkIncludes(root, missingRegion))).toEqual([
      'docs/a.md:3: cannot include stages/01-app/src/app.ts#records: stages/01-app/src/app.ts has no region ' +
        '"records" (its regions are: hello, routes)',
    ]);
  });

  test('generated output in docs/output is compared the same way', () => {
    write('docs/output/check-01.txt', '✓ GET / answers 200\n1 passed, 0 failed\n');
    const stale = doc(
      'docs/a.md',
      listing('docs/output/check-01.txt', 'text', '✓ GET / answers 200', '1 passed'),
    );
    expect(messages(checkIncludes(root, stale))).toEqual([expect.stringContaining('+ 1 passed, 0 failed')]);
  });

  test('an include must wrap a code block and be closed', () => {
    const noFence = doc(
      'docs/a.md',
      md('<!-- include: stages/01-app/src/app.ts -->', 'text', '<!-- /include -->'),
    );
    expect(messages(checkIncludes(root, noFence))).toEqual([
      'docs/a.md:1: the include of stages/01-app/src/app.ts must be followed by a fenced code block (```lang ... ```)',
      'docs/a.md:3: `<!-- /include -->` without an `<!-- include: PATH -->` before it',
    ]);
    const unclosed = doc(
      'docs/a.md',
      md('<!-- include: stages/01-app/src/app.ts#hello -->', '```ts', 'x', '```'),
    );
    expect(messages(checkIncludes(root, unclosed))).toEqual([
      'docs/a.md:4: the code block of the include of stages/01-app/src/app.ts#hello must be followed by `<!-- /include -->`',
    ]);
    const typo = doc('docs/a.md', md('<!-- include stages/01-app/src/app.ts -->', '```ts', '```'));
    expect(checkIncludes(root, typo)).toHaveLength(1);
  });

  test('an include marker shown as an example inside a code block is not an include', () => {
    const example = doc(
      'docs/a.md',
      md('````md', '<!-- include: nope.ts -->', '```ts', '```', '<!-- /include -->', '````'),
    );
    expect(checkIncludes(root, example)).toEqual([]);
  });

  test('a marker in inline code is prose about markers, not a marker', () => {
    const prose = doc(
      'docs/a.md',
      md(
        'Write `<!-- include: PATH -->` before the block and `<!-- /include -->` after it.',
        'Or `<!-- diff-summary: 01 02 -->`.',
      ),
    );
    expect(checkIncludes(root, prose)).toEqual([]);
    expect(checkSummaries(root, prose)).toEqual([]);
  });

  test('docs:sync rewrites stale listings from their sources and keeps the language', () => {
    const stale = doc(
      'docs/a.md',
      md(
        'Intro',
        '<!-- include: stages/01-app/compose.yaml#web -->',
        '```yaml',
        'old',
        '```',
        '<!-- /include -->',
        '- a list item:',
        '  <!-- include: stages/01-app/src/app.ts#hello -->',
        '  ```ts',
        '  ```',
        '  <!-- /include -->',
        'End',
      ),
    );
    const synced = syncDoc(root, stale);
    expect(synced.changed).toBe(2);
    expect(synced.lines).toEqual([
      'Intro',
      '<!-- include: stages/01-app/compose.yaml#web -->',
      '```yaml',
      '  web:',
      '    build: .',
      '```',
      '<!-- /include -->',
      '- a list item:',
      '  <!-- include: stages/01-app/src/app.ts#hello -->',
      '  ```ts',
      "    app.get('/', hello);",
      '  ```',
      '  <!-- /include -->',
      'End',
    ]);
    expect(checkIncludes(root, { path: 'docs/a.md', lines: synced.lines })).toEqual([]);
  });

  test('docs:sync makes the fence longer when the listing has a fence of its own', () => {
    write('docs/example.md', md('```ts', 'x', '```'));
    const d = doc('docs/a.md', md('<!-- include: docs/example.md -->', '```md', '```', '<!-- /include -->'));
    const synced = syncDoc(root, d);
    expect(synced.lines).toEqual([
      '<!-- include: docs/example.md -->',
      '````md',
      '```ts',
      'x',
      '```',
      '````',
      '<!-- /include -->',
    ]);
    expect(checkIncludes(root, { path: 'docs/a.md', lines: synced.lines })).toEqual([]);
  });
});

describe('fragments', () => {
  const block = (lang: string, count: number, before = '') =>
    md('Text', before, `\`\`\`${lang}`, ...Array.from({ length: count }, (_, i) => `line ${i}`), '```');

  test('a short un-included block is a fragment', () => {
    expect(checkFragments(doc('docs/01-app.md', block('yaml', 8)))).toEqual([]);
  });

  test('a long un-included ts/yaml/dockerfile block fails', () => {
    for (const lang of ['ts', 'yaml', 'dockerfile']) {
      expect(messages(checkFragments(doc('docs/01-app.md', block(lang, 9))))).toEqual([
        expect.stringMatching(
          new RegExp(`^docs/01-app.md:3: a \`\`\`${lang} block of 9 lines that is not included`),
        ),
      ]);
    }
  });

  test('a long block passes when the line before says why it stands alone', () => {
    const reasoned = block('ts', 20, '<!-- not-included: a mistake to avoid, not code of the stage -->');
    expect(checkFragments(doc('docs/01-app.md', reasoned))).toEqual([]);
    expect(
      messages(checkFragments(doc('docs/01-app.md', block('ts', 20, '<!-- not-included: -->')))),
    ).toEqual(['docs/01-app.md:2: `<!-- not-included: -->` needs a reason']);
  });

  test('shell sessions and other languages are not code listings', () => {
    expect(checkFragments(doc('docs/01-app.md', block('console', 30)))).toEqual([]);
    expect(checkFragments(doc('docs/01-app.md', block('json', 30)))).toEqual([]);
  });
});

describe('links', () => {
  test('GitHub anchors: lower case, punctuation removed, spaces to hyphens, repeats numbered', () => {
    expect(githubSlug('Port 8080 is already in use')).toBe('port-8080-is-already-in-use');
    expect(githubSlug('`POSTGRES_*` variables only apply once')).toBe('postgres_-variables-only-apply-once');
    expect(githubSlug('Old `docker-compose` (v1)')).toBe('old-docker-compose-v1');
    expect(githubSlug('Apple Silicon (M1/M2/M3)')).toBe('apple-silicon-m1m2m3');
    expect(githubSlug('**Bold** and [a link](x.md)')).toBe('bold-and-a-link');
    expect(githubSlug('Stage 01 — Hello World')).toBe('stage-01--hello-world');
    expect([
      ...anchorsOf(['# Setup', '## Check', '## Check', 'Intro', '=====', '```', '# not a heading', '```']),
    ]).toEqual(['setup', 'check', 'check-1', 'intro']);
  });

  test('relative links to missing files or headings fail; others pass', () => {
    write('docs/setup.md', md('# Setup', '## Install Docker'));
    write('stages/01-app/Dockerfile', md('FROM node:24-bookworm-slim', 'USER node'));
    const d = doc(
      'docs/README.md',
      md(
        '[setup](setup.md) and [install](setup.md#install-docker) and [top](#readme)',
        '# README',
        '[gone](nope.md), [no heading](setup.md#install), [dir](../stages/01-app/)',
        'See [the Dockerfile](../stages/01-app/Dockerfile#L2) and [too far](../stages/01-app/Dockerfile#L9).',
        '[web](https://example.com/nope) `[code](nope.md)`',
        '```md',
        '[example](nope.md)',
        '```',
        '[ref]: ./missing.md',
      ),
    );
    expect(messages(checkLinks(root, d))).toEqual([
      'docs/README.md:3: link (nope.md): docs/nope.md does not exist',
      'docs/README.md:3: link (setup.md#install): docs/setup.md has no heading with the anchor #install ' +
        '(did you mean #install-docker?)',
      'docs/README.md:4: link (../stages/01-app/Dockerfile#L9): stages/01-app/Dockerfile has only 2 lines',
      'docs/README.md:9: link (./missing.md): docs/missing.md does not exist',
    ]);
  });
});

describe('mermaid', () => {
  test('reads the ids directly inside subgraph compose, whatever the labels and arrows', () => {
    const diagram = [
      'flowchart LR',
      '  browser([Your browser]) -- "localhost:8080" --> proxy',
      '  %% a comment: ignored',
      '  subgraph compose [docker compose project]',
      '    direction LR',
      '    proxy["proxy<br/>(http-proxy-3)"] -->|round robin| web',
      '    subgraph web [web × 3]',
      '      web1 & web2 & web3',
      '    end',
      '    web -.-> redis[(Redis)]; web == SQL ==> db[(PostgreSQL)]',
      '    migrate{{migrate}} --- db',
      '    db --- db-data[(db-data volume)]',
      '    worker:::job -- jobs --> redis',
      '  end',
      '  classDef job fill:#eee',
    ].join('\n');
    expect(diagramServices(diagram)).toEqual({
      hasCompose: true,
      members: ['proxy', 'web', 'redis', 'db', 'migrate', 'db-data', 'worker'],
    });
  });

  test('a chapter whose diagram matches compose.yaml passes; a missing or extra service fails', () => {
    const chapter = (...inside: string[]) =>
      doc(
        'docs/01-app.md',
        md(
          '# Stage 01',
          '```mermaid',
          'flowchart LR',
          '  browser --> web',
          '  subgraph compose',
          ...inside,
          '  end',
          '```',
        ),
      );
    expect(checkMermaid(root, chapter('    web --> redis', '    redis --- data[(volume)]'))).toEqual([]);
    expect(messages(checkMermaid(root, chapter('    web')))).toEqual([
      expect.stringContaining(
        "docs/01-app.md:2: the diagram's subgraph compose draws [web] but stages/01-app/compose.yaml runs [redis, web]: missing redis",
      ),
    ]);
    expect(messages(checkMermaid(root, chapter('    web --> redis & cache')))).toEqual([
      expect.stringContaining('not services of compose.yaml: cache'),
    ]);
  });

  test('a chapter without a diagram, or without subgraph compose, fails', () => {
    expect(messages(checkMermaid(root, doc('docs/01-app.md', md('# Stage 01'))))).toEqual([
      'docs/01-app.md:1: a chapter needs a ```mermaid diagram of the services its compose.yaml runs',
    ]);
    const flat = doc(
      'docs/01-app.md',
      md('# Stage 01', '```mermaid', 'flowchart LR', '  web --> redis', '```'),
    );
    expect(messages(checkMermaid(root, flat))).toEqual([expect.stringContaining('inside `subgraph compose')]);
  });

  test('a chapter whose stage has no compose.yaml fails with that reason', () => {
    write('stages/02-next/src/app.ts', APP);
    const d = doc('docs/02-next.md', md('```mermaid', 'flowchart LR', '  subgraph compose', '  end', '```'));
    expect(messages(checkMermaid(root, d))).toEqual([
      expect.stringMatching(/^docs\/02-next.md:1: cannot read stages\/02-next\/compose.yaml: ENOENT/),
    ]);
  });

  test('a chapter without a stage fails; other docs are not chapters', () => {
    const orphan = doc(
      'docs/07-later.md',
      md('```mermaid', 'flowchart LR', '  subgraph compose', '  end', '```'),
    );
    expect(messages(checkMermaid(root, orphan))).toEqual([
      expect.stringContaining('the chapter has no stage'),
    ]);
    expect(checkMermaid(root, doc('docs/setup.md', md('# Setup')))).toEqual([]);
  });
});

describe('diff summaries', () => {
  test('a stale summary fails and docs:sync regenerates it', () => {
    write('stages/02-more/compose.yaml', `${COMPOSE}  more:\n`);
    write('stages/02-more/src/app.ts', APP);
    const d = doc(
      'docs/02-more.md',
      md('# Stage 02', '<!-- diff-summary: 01 02 -->', 'old', '<!-- /diff-summary -->'),
    );
    expect(messages(checkSummaries(root, d))).toEqual([
      expect.stringContaining('docs/02-more.md:2: the summary of what 02 adds to 01 is out of date'),
    ]);
    const synced = syncDoc(root, d);
    expect(synced.lines.slice(2, 4)).toEqual([
      '**What 02-more adds to 01-app:** 0 files added, 1 changed, 0 removed; +1 -0 lines.',
      '',
    ]);
    expect(checkSummaries(root, { path: d.path, lines: synced.lines })).toEqual([]);
  });
});

test('checkDocs runs every check over docs/**/*.md and README.md, then the stage checks', () => {
  write('README.md', md('[gone](docs/gone.md)'));
  write('docs/deep/a.md', md('<!-- include: nope.ts -->', '```ts', '```', '<!-- /include -->'));
  expect(messages(checkDocs(root))).toEqual([
    'README.md:1: link (docs/gone.md): docs/gone.md does not exist',
    'docs/deep/a.md:1: cannot include nope.ts: nope.ts does not exist',
    'stages/01-app/README.md:1: missing: a table of the stage programs (program, compose service, entry file, its files)',
    'stages/01-app/compose.yaml:2: region "web" is included by no doc: include it, or remove its markers',
    'stages/01-app/src/app.ts:5: region "hello" is included by no doc: include it, or remove its markers',
    'stages/01-app/src/app.ts:3: region "routes" is included by no doc: include it, or remove its markers',
  ]);
});

describe("a stage's README.md", () => {
  const README = (...rows: string[]) =>
    md(
      '# Stage 01',
      '',
      '| Program | Compose service | Entry file | Its files |',
      '| --- | --- | --- | --- |',
      ...rows,
    );
  beforeEach(() => {
    write('stages/01-app/Dockerfile', 'FROM node:24\nCMD ["node", "src/server.ts"]\n');
    write(
      'stages/01-app/compose.yaml',
      'services:\n  web:\n    build: .\n  migrate:\n    image: x\n    command: ["node", "src/migrate.ts"]\n  redis:\n    image: redis\n',
    );
    write('stages/01-app/src/server.ts', '');
    write('stages/01-app/src/migrate.ts', '');
  });

  test('passes with a row per service that runs our code, and every file of src/ in a row', () => {
    write(
      'stages/01-app/README.md',
      README(
        '| web | `web` | `src/server.ts` | `src/app.ts` |',
        '| migrate | `migrate` | `src/migrate.ts` | |',
      ),
    );
    expect(messages(checkStageReadmes(root))).toEqual([]);
  });

  test('names a missing service, a wrong entry file, a file that does not exist and one in no row', () => {
    write('stages/01-app/src/extra.ts', '');
    write(
      'stages/01-app/README.md',
      README('| web | `web` | `src/app.ts` | `src/gone.ts` |', '| redis | `redis` | | |'),
    );
    expect(messages(checkStageReadmes(root))).toEqual([
      'stages/01-app/README.md:5: web runs src/server.ts, not src/app.ts',
      'stages/01-app/README.md:1: compose service migrate (node src/migrate.ts) has no row',
      'stages/01-app/README.md:5: src/gone.ts does not exist',
      'stages/01-app/README.md:6: redis is not a compose service that runs a file of src/',
      'stages/01-app/README.md:1: src/extra.ts is in no row: say which program it belongs to (or "shared")',
      'stages/01-app/README.md:1: src/migrate.ts is in no row: say which program it belongs to (or "shared")',
      'stages/01-app/README.md:1: src/server.ts is in no row: say which program it belongs to (or "shared")',
    ]);
  });
});
