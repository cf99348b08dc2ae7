// Walks one chapter as an attendee would: from a fresh stage (every stage's
// containers, volumes and built images removed, and the build cache emptied,
// so that the first build shows what it shows on a new laptop), in one shell that starts at the root of the
// repository, every session of the chapter in its order, with the default
// project names and ports. Records what each command printed, or (check mode)
// compares it with what the chapter shows.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../lib/root.ts';
import { listStages } from '../lib/stages.ts';
import { type Block, type Command, chapterHash, parseChapter, sessionLines } from './chapter.ts';
import { normalise } from './normalise.ts';
import { Background, Shell, seenAt } from './shell.ts';

/** The repository's root (tools/lib/root.ts), as the walk's default. */
export const ROOT = repoRoot;
export const OUTPUT = 'docs/output/walk';

export interface Chapter {
  /** "02" */
  readonly number: string;
  /** "02-compose": the names of the doc, the stage and the folder of recordings. */
  readonly name: string;
  readonly doc: string;
  readonly stage: string;
}

export function listChapters(root = ROOT): Chapter[] {
  return readdirSync(join(root, 'docs'))
    .filter((file) => /^0[1-5]-.*\.md$/.test(file))
    .sort()
    .map((file) => {
      const name = file.replace(/\.md$/, '');
      return { number: name.slice(0, 2), name, doc: `docs/${file}`, stage: `stages/${name}` };
    })
    .filter((chapter) => existsSync(join(root, chapter.stage)));
}

/** What the recording of a chapter was made from, and what the walk measured. */
export interface Stamp {
  readonly hash: string;
  readonly commands: number;
  readonly notRun: { line: number; why: string }[];
  /** Sessions whose output is recorded but not compared (walk: varies). */
  readonly varies?: { line: number; why: string }[];
  /** How long the commands ran, nobody typing or reading. */
  readonly seconds: number;
}

export function stampPath(chapter: Chapter): string {
  return `${OUTPUT}/${chapter.name}/stamp.json`;
}

export function readStamp(root: string, chapter: Chapter): Stamp | undefined {
  const path = join(root, stampPath(chapter));
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Stamp) : undefined;
}

/** The tracked files of the chapter's stage, read from the work tree. */
export function stageFiles(root: string, chapter: Chapter): { path: string; content: string }[] {
  const listed = execFileSync('git', ['ls-files', '-z', '--', chapter.stage], {
    cwd: root,
    encoding: 'utf8',
  });
  // The stage's tests are left out: no chapter runs them, and no output a
  // chapter shows depends on them (.dockerignore keeps them out of the image).
  const tests = `${chapter.stage}/test/`;
  return listed
    .split('\0')
    .filter((path) => path !== '' && !path.startsWith(tests) && existsSync(join(root, path)))
    .map((path) => ({ path, content: readFileSync(join(root, path), 'utf8') }));
}

export function readBlocks(root: string, chapter: Chapter): { lines: string[]; blocks: Block[] } {
  const lines = readFileSync(join(root, chapter.doc), 'utf8').replace(/\r\n/g, '\n').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return { lines, blocks: parseChapter(lines) };
}

export function currentHash(root: string, chapter: Chapter): string {
  return chapterHash(readBlocks(root, chapter).blocks, stageFiles(root, chapter));
}

/**
 * The environment of an attendee's terminal: no project name, port or compose
 * file set. curl shows a progress meter when its output is not a terminal (here
 * it is a pipe): a .curlrc with `no-progress-meter` makes it print what it
 * prints in a terminal, errors included.
 */
export function attendeeEnv(): NodeJS.ProcessEnv {
  const curlHome = join(tmpdir(), 'walk-curl');
  mkdirSync(curlHome, { recursive: true });
  writeFileSync(join(curlHome, '.curlrc'), 'no-progress-meter\n');
  const env: NodeJS.ProcessEnv = { ...process.env, CURL_HOME: curlHome };
  for (const name of Object.keys(env)) {
    if (/^(COMPOSE_|WEB_PORT$|CHECK_|npm_)/.test(name)) delete env[name];
  }
  return env;
}

/**
 * Every stage's containers, networks, volumes and built images removed, and
 * BuildKit's cache emptied: nothing left from another run. Without the last
 * two, a chapter's first `up --build` would show CACHED steps on a machine
 * that built the stage before, and npm's output where it did not.
 */
export function freshStages(root: string): void {
  const quiet = { env: attendeeEnv(), stdio: 'ignore' } as const;
  for (const stage of listStages(root)) {
    const down = ['compose', 'down', '--volumes', '--rmi', 'local', '--remove-orphans', '--timeout', '3'];
    execFileSync('docker', down, { ...quiet, cwd: stage.dir });
  }
  execFileSync('docker', ['builder', 'prune', '--all', '--force'], quiet);
}

export interface BlockResult {
  readonly block: Block;
  readonly file: string;
  readonly lines: string[];
}

export interface Walked {
  readonly results: BlockResult[];
  readonly problems: string[];
  readonly stamp: Stamp;
}

const COMMAND_TIMEOUT_MS = 5 * 60_000;

/** Until no container of the project is "starting" (2 minutes at most). */
const WAIT_HEALTHY = `(for _ in $(seq 240); do
  docker compose ps --format '{{.Health}}' | grep -q starting || exit 0
  sleep 0.5
done
docker compose ps; false)`;

/** Text as a terminal shows it: no colours, no carriage returns, lines. */
function toLines(output: string): string[] {
  const text = output
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts a terminal's colour codes
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\r\n/g, '\n')
    .replace(/.*\r/g, '');
  if (text === '') return [];
  return text.replace(/\n$/, '').split('\n');
}

export async function walkChapter(
  root: string,
  chapter: Chapter,
  log: (line: string) => void,
): Promise<Walked> {
  const { blocks } = readBlocks(root, chapter);
  const problems: string[] = [];
  const results: BlockResult[] = [];
  const notRun: { line: number; why: string }[] = [];
  const env = attendeeEnv();
  const restore = new Map<string, string>();
  let background: Background | undefined;
  let markAt = 0;
  let commands = 0;
  let ms = 0;
  let checked = false;

  log(`${chapter.name}: a fresh start (every stage down, with its volumes and images, and no build cache)`);
  freshStages(root);
  const shell = new Shell(root, env);
  try {
    for (const block of blocks) {
      const at = `${chapter.doc}:${block.open + 1}`;
      if (block.skip) {
        notRun.push({ line: block.open + 1, why: block.skip });
        log(`  - ${at}: not run (${block.skip})`);
        continue;
      }
      const file = `${OUTPUT}/${chapter.name}/${String(results.length + 1).padStart(2, '0')}.txt`;
      if (block.apply) {
        const path = join(root, block.apply.path);
        if (!restore.has(path)) restore.set(path, readFileSync(path, 'utf8'));
        writeFileSync(path, `${block.apply.content.join('\n')}\n`);
        log(`  ✎ ${at}: the edit above written into ${block.apply.path}`);
      }
      if (block.waitHealthy) {
        const waited = await shell.run(WAIT_HEALTHY, COMMAND_TIMEOUT_MS);
        ms += waited.ms;
        log(`  … ${at}: waited ${(waited.ms / 1000).toFixed(1)} s for the containers to be healthy`);
        if (waited.status !== 0)
          problems.push(`${at}: the containers did not turn healthy:\n${indent(waited.output)}`);
      }
      let leading = block.leading;
      if (block.ctrlC) {
        if (!background) {
          problems.push(`${at}: "walk: ctrl-c" but no command runs in the background`);
          continue;
        }
        const started = Date.now();
        const status = await background.interrupt(60_000);
        ms += Date.now() - started;
        leading = toLines(background.output.slice(markAt));
        log(`  ^C ${at}: exit ${status}`);
        background = undefined;
      }
      const ran: Command[] = [];
      for (const [i, command] of block.commands.entries()) {
        const last = i === block.commands.length - 1;
        commands++;
        if (last && block.background !== undefined) {
          const started = Date.now();
          background = new Background(command.text, shell.cwd, env);
          const seen = await background.waitFor(block.background, COMMAND_TIMEOUT_MS);
          ms += Date.now() - started;
          const end = background.output.indexOf('\n', seenAt(background.output, block.background));
          markAt = end < 0 ? background.output.length : end + 1;
          ran.push({ text: command.text, output: toLines(background.output.slice(0, markAt)) });
          log(`  & ${command.text} (${seen ? `until "${block.background}"` : 'NOT SEEN'})`);
          if (!seen) problems.push(`${at}: \`${command.text}\` never printed "${block.background}"`);
          continue;
        }
        const result = await shell.run(command.text, COMMAND_TIMEOUT_MS);
        ms += result.ms;
        const expected = last ? block.exit : 0;
        log(`  $ ${command.text.split('\n')[0]} → ${result.status} (${(result.ms / 1000).toFixed(1)} s)`);
        if (result.status !== expected) {
          problems.push(
            `${at}: \`${command.text}\` exited with ${result.status}, the chapter expects ${expected}` +
              `${expected === 0 ? '' : ' (walk: exit)'}\n${indent(result.output)}`,
          );
        }
        if (result.output !== '' && !result.output.endsWith('\n')) {
          problems.push(
            `${at}: the output of \`${command.text}\` does not end with a newline: the prompt would stick to it`,
          );
        }
        ran.push({ text: command.text, output: toLines(result.output) });
        const check = /^npm run check -- (\d\d)\b/.exec(command.text);
        if (check?.[1] === chapter.number && result.status === 0) {
          checked = true;
          // The same checks from a container, for attendees without Node: once per stage.
          const docker = `docker compose -f tools/check/compose.yaml run --rm --build check ${chapter.number}`;
          const inDocker = await shell.run(`(cd '${root}' && ${docker})`, COMMAND_TIMEOUT_MS);
          ms += inDocker.ms;
          log(`  $ ${docker} → ${inDocker.status} (${(inDocker.ms / 1000).toFixed(1)} s)`);
          if (inDocker.status !== 0)
            problems.push(`${at}: the Docker-only check failed:\n${indent(inDocker.output)}`);
        }
      }
      results.push({ block, file, lines: sessionLines(leading, ran) });
    }
    if (!checked)
      problems.push(`${chapter.doc}: no session runs \`npm run check -- ${chapter.number}\` successfully`);
  } finally {
    background?.kill();
    shell.close();
    for (const [path, content] of restore) writeFileSync(path, content);
    freshStages(root);
  }
  const hash = chapterHash(blocks, stageFiles(root, chapter));
  const varies = blocks.flatMap((b) => (b.varies && !b.skip ? [{ line: b.open + 1, why: b.varies }] : []));
  return { results, problems, stamp: { hash, commands, notRun, varies, seconds: Math.round(ms / 1000) } };
}

/** The differences between a recorded session and a new one, once both are normalised. */
export function compareSession(recorded: readonly string[], walked: readonly string[]): string | undefined {
  const a = normalise(recorded.join('\n')).split('\n');
  const b = normalise(walked.join('\n')).split('\n');
  if (a.join('\n') === b.join('\n')) return undefined;
  // Longest common subsequence: what is left are the lines that differ.
  const width = b.length + 1;
  const dp = new Array<number>((a.length + 1) * width).fill(0);
  const at = (i: number, j: number) => dp[i * width + j] ?? 0;
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      dp[i * width + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i === a.length || at(i, j + 1) >= at(i + 1, j))) out.push(`+ ${b[j++]}`);
    else out.push(`- ${a[i++]}`);
  }
  return out.join('\n');
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
