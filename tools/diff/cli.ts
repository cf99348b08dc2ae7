// `npm run diff -- 02 03`: what stage 03 adds to stage 02 (stat, patch, summary).
// `npm run diff -- 03`: the same (a stage against the one before it).
// `npm run diff -- 02 03 --summary`: only the summary, in Markdown.

import { parseOrExit, readCommandLine, UsageError } from '../lib/cli.ts';
import { diffFolders, summaryLine, summaryMarkdown } from '../lib/stage-diff.ts';
import { findStage, listStages, UnknownStageError } from '../lib/stages.ts';

const USAGE = `Usage: npm run diff -- [FROM] TO [--summary]
  npm run diff -- 02 03            what stage 03 adds to stage 02
  npm run diff -- 03               the same: a stage against the one before it
  npm run diff -- 02 03 --summary  only the summary, in Markdown
Left out: node_modules, package-lock.json, and the name/description lines of package.json.`;

const { summaryOnly, from, to } = parseOrExit(() => {
  const { values, positionals } = readCommandLine(
    process.argv.slice(2),
    { summary: { type: 'boolean', default: false } },
    { positionals: true },
  );
  if (values.help) return { help: true };
  if (positionals.length === 0 || positionals.length > 2) throw new UsageError('Name one or two stages.');
  const stages = listStages();
  const to = findStage(stages, positionals.at(-1) ?? '');
  const from =
    positionals.length === 2 ? findStage(stages, positionals[0] ?? '') : stages[stages.indexOf(to) - 1];
  if (!from) throw new UnknownStageError(`${to.name} is the first stage: there is nothing before it.`);
  return { help: false, summaryOnly: values.summary, from, to };
}, USAGE);

const diff = diffFolders(from.dir, to.dir, {
  fromLabel: `stages/${from.name}`,
  toLabel: `stages/${to.name}`,
  color: !summaryOnly && process.stdout.isTTY,
});

if (summaryOnly) {
  console.log(summaryMarkdown(diff));
} else {
  console.log(`What ${to.name} adds to ${from.name}`);
  console.log('(left out: node_modules, package-lock.json, package.json name/description)\n');
  if (diff.files.length > 0) console.log(`${diff.stat}\n\n${diff.patch}`);
  console.log(`${from.name} -> ${to.name}: ${summaryLine(diff)}`);
}
