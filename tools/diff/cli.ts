// `npm run diff -- 02 03`: what stage 03 adds to stage 02 (stat, patch, summary).
// `npm run diff -- 03`: the same (a stage against the one before it).
// `npm run diff -- 02 03 --summary`: only the summary, in Markdown.
import { findRepoRoot, findStage, listStages, type Stage, UnknownStageError } from '../lib/stages.ts';
import { diffFolders, summaryLine, summaryMarkdown } from './stage-diff.ts';

const USAGE = `Usage: npm run diff -- [FROM] TO [--summary]
  npm run diff -- 02 03            what stage 03 adds to stage 02
  npm run diff -- 03               the same: a stage against the one before it
  npm run diff -- 02 03 --summary  only the summary, in Markdown
Left out: node_modules, package-lock.json, and the name/description lines of package.json.`;

const root = findRepoRoot(import.meta.dirname);
const args = process.argv.slice(2);
const summaryOnly = args.includes('--summary');
const names = args.filter((arg) => !arg.startsWith('-'));
const unknown = args.filter((arg) => arg.startsWith('-') && arg !== '--summary');

if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
if (unknown.length > 0 || names.length === 0 || names.length > 2) {
  console.error(unknown.length ? `Unknown option ${unknown.join(' ')}\n\n${USAGE}` : USAGE);
  process.exit(2);
}

let from: Stage;
let to: Stage;
try {
  to = findStage(root, names.at(-1) ?? '');
  if (names.length === 2) {
    from = findStage(root, names[0] ?? '');
  } else {
    const stages = listStages(root);
    const previous = stages[stages.findIndex((stage) => stage.name === to.name) - 1];
    if (!previous) throw new UnknownStageError(`${to.name} is the first stage: there is nothing before it.`);
    from = previous;
  }
} catch (err) {
  if (!(err instanceof UnknownStageError)) throw err;
  console.error(err.message);
  process.exit(2);
}

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
