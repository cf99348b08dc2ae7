// The walk's parser and normalisation rules, and the two checks on what the
// walk recorded: no chapter's recording is older than its commands, and the
// times of docs/README.md leave room for what the walk measured. No Docker.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChapter, parseSession, rewriteChapter, sessionLines } from './chapter.ts';
import { normalise } from './normalise.ts';
import { parseSummary } from './summary.ts';
import { compareSession, currentHash, listChapters, ROOT, readStamp } from './walk.ts';

describe('a chapter session', () => {
  test('commands start with "$ ", a trailing backslash continues one, the rest is output', () => {
    const { leading, commands } = parseSession([
      'Gracefully stopping...',
      '$ cd stages/02-compose',
      '$ curl -X POST \\',
      "  -d '{}' http://localhost:8080/records",
      '{"id":1}',
      '',
      '$ docker compose ps',
    ]);
    expect(leading).toEqual(['Gracefully stopping...']);
    expect(commands).toEqual([
      { text: 'cd stages/02-compose', output: [] },
      { text: "curl -X POST \\\n  -d '{}' http://localhost:8080/records", output: ['{"id":1}', ''] },
      { text: 'docker compose ps', output: [] },
    ]);
    expect(sessionLines(leading, commands)).toEqual([
      'Gracefully stopping...',
      '$ cd stages/02-compose',
      '$ curl -X POST \\',
      "  -d '{}' http://localhost:8080/records",
      '{"id":1}',
      '',
      '$ docker compose ps',
    ]);
  });

  test('the marks above a block, and its include marker, belong to it', () => {
    const lines = [
      'Text.',
      '',
      '<!-- walk: exit 1 -->',
      '<!-- walk: background until "listening on" -->',
      '<!-- include: docs/output/walk/01-app/01.txt -->',
      '```console',
      '$ docker compose up',
      '```',
      '<!-- /include -->',
      '',
      '```ts',
      'const x = 1;',
      '```',
      '<!-- walk: skip — opens a browser -->',
      '```console',
      '$ open http://localhost:8080',
      '```',
    ];
    const [up, browser, ...rest] = parseChapter(lines);
    expect(rest).toEqual([]);
    expect(up).toMatchObject({
      top: 2,
      open: 5,
      exit: 1,
      background: 'listening on',
      include: 'docs/output/walk/01-app/01.txt',
    });
    expect(browser).toMatchObject({ skip: 'opens a browser', exit: 0, open: 14 });
  });

  test('an unknown mark is an error, not ignored', () => {
    expect(() => parseChapter(['<!-- walk: skipp -->', '```console', '$ ls', '```'])).toThrow(
      'unknown mark "walk: skipp"',
    );
  });

  test('a recorded block is written back between include markers, marks kept', () => {
    const lines = ['<!-- walk: exit 1 -->', '```console', '$ false', 'old', '```', 'after'];
    const blocks = parseChapter(lines);
    const [block] = blocks;
    if (!block) throw new Error('no block');
    const recorded = new Map([[block, { file: 'docs/output/walk/x/01.txt', lines: ['$ false', 'new'] }]]);
    expect(rewriteChapter(lines, blocks, recorded)).toEqual([
      '<!-- walk: exit 1 -->',
      '<!-- include: docs/output/walk/x/01.txt -->',
      '```console',
      '$ false',
      'new',
      '```',
      '<!-- /include -->',
      'after',
    ]);
    // Rewriting the rewritten chapter replaces the include, it does not nest one.
    const again = rewriteChapter(
      rewriteChapter(lines, blocks, recorded),
      parseChapter(rewriteChapter(lines, blocks, recorded)),
      new Map(),
    );
    expect(again.filter((l) => l.includes('include:'))).toHaveLength(1);
  });
});

describe('normalise', () => {
  test('two runs of `docker compose ps` differ only in times and column widths', () => {
    const recorded = [
      'NAME           IMAGE        COMMAND                  SERVICE   CREATED         STATUS                   PORTS',
      '01-app-web-1   01-app-web   "docker-entrypoint.s…"   web       6 seconds ago   Up 5 seconds (healthy)   0.0.0.0:8080->8080/tcp',
    ];
    const walked = [
      'NAME           IMAGE        COMMAND                  SERVICE   CREATED          STATUS                    PORTS',
      '01-app-web-1   01-app-web   "docker-entrypoint.s…"   web       About a minute ago   Up 59 seconds (healthy)   0.0.0.0:8080->8080/tcp',
    ];
    expect(compareSession(recorded, walked)).toBeUndefined();
  });

  test('a container that is not healthy any more is a difference', () => {
    const recorded = ['01-app-web-1   01-app-web   web   6 seconds ago   Up 5 seconds (healthy)'];
    const walked = ['01-app-web-1   01-app-web   web   6 seconds ago   Up 5 seconds (health: starting)'];
    expect(compareSession(recorded, walked)).toBe(
      '+ 01-app-web-1  01-app-web  web  <when> ago  Up <duration> (health: starting)\n' +
        '- 01-app-web-1  01-app-web  web  <when> ago  Up <duration> (healthy)',
    );
  });

  test('a count, a status code or a missing line is a difference', () => {
    expect(compareSession(['I have been seen 3 times.'], ['I have been seen 4 times.'])).toBeDefined();
    expect(compareSession(['503 in 0.002671 s'], ['200 in 0.002671 s'])).toBeDefined();
    expect(compareSession(['a', 'web-1  | stopped'], ['a'])).toBe('- web-1 | stopped');
  });

  test('dates, ids, digests, sizes and timings are masked', () => {
    expect(normalise('Date: Sun, 22 Nov 2026 10:29:09 GMT')).toBe('Date: <date>');
    expect(normalise('a02-web      latest    93c8cf1a940c   5 minutes ago   287MB')).toBe(
      'a02-web  latest  <id>  <when> ago  <size>',
    );
    expect(
      normalise(
        '#10 writing image sha256:dadf2358ace3e54866c6b164574f07533d302eb84529fb3bdf64639a4e3c04bd done',
      ),
    ).toBe('#N writing image sha256:<digest> done');
    expect(normalise('✓ every web container runs and is healthy (150 ms)')).toBe(
      '✓ every web container runs and is healthy (<duration>)',
    );
    expect(normalise('  1 | {"title": "Test"} | 2026-11-22 10:29:09.185+00 |')).toBe(
      '  1 | {"title": "Test"} | <timestamp> |',
    );
    expect(
      normalise('id=4 addr=172.31.0.3:52678 laddr=172.31.0.2:6379 fd=8 name=web age=6 idle=1 flags=N'),
    ).toBe('id=<n> addr=<address> laddr=<address> fd=<n> name=web age=<n> idle=<n> flags=N');
    // A compose network's subnet is new with every `up`; localhost and documentation addresses stay.
    expect(normalise("[ '172.24.0.5', '192.168.96.4' ] 127.0.0.1 192.0.2.2")).toBe(
      "[ '<container-ip>', '<container-ip>' ] 127.0.0.1 192.0.2.2",
    );
  });

  test("BuildKit's steps may come in another order, cached or not, and compare equal", () => {
    const one = [
      '#6 [web 2/5] WORKDIR /app',
      '#6 CACHED',
      '',
      '#7 [web 3/5] COPY package.json ./',
      '#7 DONE 0.4s',
      '',
    ];
    const two = [
      '#6 [web 3/5] COPY package.json ./',
      '#6 CACHED',
      '',
      '#7 [web 2/5] WORKDIR /app',
      '#7 CACHED',
      '',
    ];
    expect(compareSession(one, two)).toBeUndefined();
    expect(compareSession(one, ['#6 [web 2/5] WORKDIR /app', '#6 CACHED', ''])).toBeDefined();
  });

  test('the seconds BuildKit prints before the output of a step are not compared, the output is', () => {
    expect(normalise('#8 3.763 added 68 packages in 4s')).toBe('#N <t> added 68 packages in <s>s');
    const one = ['#8 [web 4/5] RUN npm ci', '#8 3.763 added 68 packages in 4s', '#8 DONE 4.3s', ''];
    const two = ['#9 [web 4/5] RUN npm ci', '#9 12.04 added 68 packages in 12s', '#9 DONE 12.9s', ''];
    expect(compareSession(one, two)).toBeUndefined();
    expect(
      compareSession(one, [
        '#8 [web 4/5] RUN npm ci',
        '#8 3.763 added 69 packages in 4s',
        '#8 DONE 4.3s',
        '',
      ]),
    ).toBeDefined();
  });

  test("the services' logs of an attached up compare in any interleaving, each in its own order", () => {
    const one = [
      'migrate-1  | applied',
      'db-1  | ready',
      'web-1  | listening on',
      'migrate-1 exited with code 0',
    ];
    const two = [
      'db-1  | ready',
      'migrate-1  | applied',
      'migrate-1 exited with code 0',
      'web-1  | listening on',
    ];
    expect(compareSession(one, two)).toBeUndefined();
    const reordered = [
      'migrate-1 exited with code 0',
      'migrate-1  | applied',
      'db-1  | ready',
      'web-1  | listening on',
    ];
    expect(compareSession(one, reordered)).toBeDefined();
  });

  test("compose's own lines of an attached up (Attaching, watch's ⦿) come in any order around the logs", () => {
    const one = ['        ⦿ Watch enabled', 'Attaching to web-1', 'web-1   | listening on port 8080'];
    const two = ['Attaching to web-1', 'web-1   | listening on port 8080', '        ⦿ Watch enabled'];
    expect(compareSession(one, two)).toBeUndefined();
    expect(
      compareSession(one, [
        'Attaching to web-2',
        'web-1   | listening on port 8080',
        '        ⦿ Watch enabled',
      ]),
    ).toBeDefined();
  });

  test('a slow BuildKit sub-step, printed when it starts and when it is done, is one step', () => {
    const slow = [
      '#10 writing image sha256:dadf2358ace3e548 done'.replace(' done', ''),
      '#10 writing image sha256:dadf2358ace3e548 done',
    ];
    expect(compareSession(slow, ['#10 writing image sha256:dadf2358ace3e548 done'])).toBeUndefined();
  });

  test('psql rows whose times have another number of digits compare equal', () => {
    expect(
      compareSession(
        ['  1 | {"title": "Test"}  | 2026-11-22 10:29:09.185+00  | 2026-11-22 10:29:09.185+00'],
        ['  1 | {"title": "Test"}  | 2026-11-22 10:29:09.18+00 | 2026-11-22 10:29:09.18+00'],
      ),
    ).toBeUndefined();
  });

  test('compose lines of containers started in parallel compare in any order, not their count', () => {
    const one = [' Container a-redis-1  Started', ' Container a-web-1  Started', 'after'];
    expect(
      compareSession(one, [' Container a-web-1  Started', ' Container a-redis-1  Started', 'after']),
    ).toBeUndefined();
    expect(compareSession(one, [' Container a-web-1  Started', 'after'])).toBeDefined();
  });
});

describe('the recordings', () => {
  const recorded = listChapters().filter((chapter) => readStamp(ROOT, chapter) !== undefined);

  test.each(recorded.map((c) => [c.name, c] as const))(
    '%s is recorded from its current commands and stage',
    (_, chapter) => {
      const stamp = readStamp(ROOT, chapter);
      if (stamp?.hash !== currentHash(ROOT, chapter)) {
        throw new Error(
          `${chapter.doc}: the recorded output is older than the chapter's commands or the files of ${chapter.stage}; ` +
            `re-record it with \`npm run docs:walk -- ${chapter.number}\``,
        );
      }
    },
  );

  // The rule for the Time column: reading the prose (200 words a minute), half a
  // minute to type or paste each command, and the time the commands ran, as
  // the walk measured it. Breaks and "try it" come on top.
  test.each(recorded.map((c) => [c.name, c] as const))(
    "docs/README.md's time for %s leaves room for the walk",
    (name, chapter) => {
      const seconds = parseSummary(ROOT).get(name);
      const stamp = readStamp(ROOT, chapter);
      expect(seconds).toBe(stamp?.seconds);
      const text = readFileSync(join(ROOT, chapter.doc), 'utf8');
      let fenced = false;
      const prose = text.split('\n').filter((line) => {
        if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
        else if (!fenced && !line.includes('<!--')) return true;
        return false;
      });
      const words = prose.join(' ').split(/\s+/).filter(Boolean).length;
      const needed = Math.ceil(words / 200 + (stamp?.commands ?? 0) / 2 + (seconds ?? 0) / 60);
      const readme = readFileSync(join(ROOT, 'docs/README.md'), 'utf8');
      const row = readme.split('\n').find((line) => line.includes(`](${chapter.name}.md)`));
      const minutes = Number(/\|\s*(\d+) min\s*\|\s*$/.exec(row ?? '')?.[1]);
      expect({ chapter: name, minutes: minutes >= needed ? 'enough' : `${minutes} < ${needed}` }).toEqual({
        chapter: name,
        minutes: 'enough',
      });
    },
  );
});
