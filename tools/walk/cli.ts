// `npm run docs:walk [-- NN...]`: runs the shell sessions of chapters 01-05 as
// an attendee would, and records what each command printed into the file the
// chapter includes (docs/output/walk/NN-name/KK.txt), with a stamp of what the
// recording was made from. `--check` (CI) records nothing: it fails when an
// output differs from the recorded one (after normalise.ts), a command exits
// otherwise than the chapter says, or the chapter's check fails.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOrExit, readCommandLine, UsageError } from '../lib/cli.ts';
import { rewriteChapter, sessionLines } from './chapter.ts';
import { SUMMARY, summaryOf } from './summary.ts';
import {
  compareSession,
  currentHash,
  listChapters,
  OUTPUT,
  ROOT,
  readBlocks,
  readStamp,
  stampPath,
  walkChapter,
} from './walk.ts';

const USAGE = `Usage: npm run docs:walk [-- [--check] [NN...]]

Runs every shell session of the chapters (all of 01-05, or the ones named),
from a fresh stage, and records the outputs the chapters include.
  --check   record nothing; fail when an output or an exit status differs`;

const all = listChapters();
const { check, chapters } = parseOrExit(() => {
  const { values, positionals } = readCommandLine(
    process.argv.slice(2),
    { check: { type: 'boolean', default: false } },
    { positionals: true },
  );
  if (values.help) return { help: true };
  for (const n of positionals) {
    if (!all.some((c) => c.number === n.padStart(2, '0'))) throw new UsageError(`There is no chapter ${n}.`);
  }
  const chosen =
    positionals.length === 0
      ? all
      : all.filter((c) => positionals.some((n) => n.padStart(2, '0') === c.number));
  return { help: false, check: values.check, chapters: chosen };
}, USAGE);

let failed = 0;
for (const chapter of chapters) {
  const started = Date.now();
  const { results, problems, stamp } = await walkChapter(ROOT, chapter, (line) => console.log(line));
  if (check) {
    const recorded = readStamp(ROOT, chapter);
    if (recorded?.hash !== currentHash(ROOT, chapter))
      problems.push(
        `${chapter.doc}: the recording is older than its commands; run \`npm run docs:walk -- ${chapter.number}\``,
      );
    for (const result of results) {
      if (result.block.varies) continue; // its exit statuses were checked; the text depends on timing
      const shown = sessionLines(result.block.leading, result.block.commands);
      const diff = compareSession(shown, result.lines);
      if (diff !== undefined)
        problems.push(
          `${chapter.doc}:${result.block.open + 1}: the output differs (- the chapter, + this walk)\n${diff}`,
        );
    }
  } else {
    const folder = join(ROOT, OUTPUT, chapter.name);
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    for (const result of results) writeFileSync(join(ROOT, result.file), `${result.lines.join('\n')}\n`);
    const { lines, blocks } = readBlocks(ROOT, chapter);
    const byOpen = new Map(results.map((r) => [r.block.open, r]));
    const recorded = new Map(
      blocks.flatMap((b) => {
        const r = byOpen.get(b.open);
        return r ? [[b, { file: r.file, lines: r.lines }] as const] : [];
      }),
    );
    writeFileSync(join(ROOT, chapter.doc), `${rewriteChapter(lines, blocks, recorded).join('\n')}\n`);
    // The stamp hashes the chapter as rewritten (its commands do not change).
    writeFileSync(
      join(ROOT, stampPath(chapter)),
      `${JSON.stringify({ ...stamp, hash: currentHash(ROOT, chapter) }, null, 2)}\n`,
    );
  }
  const took = Math.round((Date.now() - started) / 1000);
  for (const problem of problems) console.log(`✗ ${problem}`);
  console.log(
    `${problems.length === 0 ? '✓' : '✗'} ${chapter.name}: ${stamp.commands} commands in ${took} s, ` +
      `${stamp.notRun.length} session${stamp.notRun.length === 1 ? '' : 's'} not run` +
      (stamp.notRun.length === 0 ? '' : ` (${stamp.notRun.map((s) => s.why).join('; ')})`) +
      `${check ? '' : `, recorded in ${OUTPUT}/${chapter.name}/`}\n`,
  );
  failed += problems.length;
}

if (!check) {
  writeFileSync(join(ROOT, SUMMARY), summaryOf(ROOT, all));
  console.log(`${SUMMARY} written`);
  // Leftover folders of chapters that no longer exist.
  for (const name of readdirSync(join(ROOT, OUTPUT), { withFileTypes: true })) {
    if (name.isDirectory() && !all.some((c) => c.name === name.name))
      rmSync(join(ROOT, OUTPUT, name.name), { recursive: true });
  }
}
console.log(failed === 0 ? '✓ the walk passed' : `✗ ${failed} problem${failed === 1 ? '' : 's'}`);
process.exit(failed === 0 ? 0 : 1);
