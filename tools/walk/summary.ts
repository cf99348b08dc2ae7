// docs/output/walk/summary.txt: what the last recording walk ran, per chapter.
// Written from the chapters' stamps; docs/README.md's times are checked
// against it (walk.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Chapter, OUTPUT, readStamp, type Stamp } from './walk.ts';

export const SUMMARY = `${OUTPUT}/summary.txt`;

export function formatSummary(chapters: readonly { chapter: Chapter; stamp: Stamp }[]): string {
  const rows = chapters.map(({ chapter, stamp }) =>
    [
      chapter.name.padEnd(12),
      String(stamp.commands).padStart(8),
      String(stamp.notRun.length).padStart(8),
      String(stamp.varies?.length ?? 0).padStart(8),
      `${Math.floor(stamp.seconds / 60)} min ${String(stamp.seconds % 60).padStart(2)} s`.padStart(14),
    ].join(''),
  );
  const notRun = chapters.flatMap(({ chapter, stamp }) =>
    stamp.notRun.map((skip) => `  ${chapter.doc}:${skip.line}: ${skip.why}`),
  );
  const varies = chapters.flatMap(({ chapter, stamp }) =>
    (stamp.varies ?? []).map((v) => `  ${chapter.doc}:${v.line}: ${v.why}`),
  );
  return [
    'The walk of the chapters (npm run docs:walk): every session run in order, from a fresh stage.',
    'varies: sessions run and recorded whose output depends on timing (--check compares their exit statuses).',
    'unattended: how long the commands ran, nobody reading or typing.',
    '',
    `${'chapter'.padEnd(12)}${'commands'.padStart(8)}${'not run'.padStart(8)}${'varies'.padStart(8)}${'unattended'.padStart(14)}`,
    ...rows,
    '',
    notRun.length === 0 ? 'Every session ran.' : 'Sessions not run, and why:',
    ...notRun,
    ...(varies.length === 0 ? [] : ['', 'Sessions whose output varies, and why:', ...varies]),
    '',
  ].join('\n');
}

export function summaryOf(root: string, chapters: readonly Chapter[]): string {
  return formatSummary(
    chapters.flatMap((chapter) => {
      const stamp = readStamp(root, chapter);
      return stamp ? [{ chapter, stamp }] : [];
    }),
  );
}

/** The unattended seconds per chapter name, read back from summary.txt. */
export function parseSummary(root: string): Map<string, number> {
  const seconds = new Map<string, number>();
  for (const line of readFileSync(join(root, SUMMARY), 'utf8').split('\n')) {
    const row = /^(\d\d-\S+)\s+\d+\s+\d+\s+\d+\s+(\d+) min\s+(\d+) s$/.exec(line);
    if (row) seconds.set(row[1] ?? '', Number(row[2]) * 60 + Number(row[3]));
  }
  return seconds;
}
