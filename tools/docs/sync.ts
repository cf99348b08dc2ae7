// `npm run docs:sync`: copies every included file (or region) into the docs'
// listings, and regenerates the diff summaries. Edit the code, run this,
// commit both. `npm run docs:sync -- --check` changes nothing and lists every
// docs problem (the same checks as the tests), exit 1 if there is one.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOrExit, readCommandLine } from '../lib/cli.ts';
import { repoRoot } from '../lib/root.ts';
import { checkDocs, syncDoc } from './check.ts';
import { findDocs, formatProblem, readDoc } from './markdown.ts';

const USAGE = `Usage: npm run docs:sync [-- --check]

Copies every included file (or region) into the docs' listings and regenerates
the diff summaries.
  --check   change nothing: list every docs problem, exit 1 if there is one`;
const { check } = parseOrExit(() => {
  const { values } = readCommandLine(process.argv.slice(2), { check: { type: 'boolean', default: false } });
  return { help: Boolean(values.help), check: values.check };
}, USAGE);
const root = repoRoot;

if (check) {
  const problems = checkDocs(root);
  for (const problem of problems) console.log(`✗ ${formatProblem(problem)}`);
  console.log(problems.length === 0 ? '✓ the docs are in sync with the code' : `${problems.length} problems`);
  process.exit(problems.length === 0 ? 0 : 1);
}

let failed = 0;
for (const path of findDocs(root)) {
  const doc = readDoc(root, path);
  const { lines, problems, changed } = syncDoc(root, doc);
  for (const problem of problems) console.log(`✗ ${formatProblem(problem)}`);
  failed += problems.length;
  if (changed === 0) continue;
  // Keep the doc's own line endings (a Windows checkout may have CRLF).
  const eol = readFileSync(join(root, path), 'utf8').includes('\r\n') ? '\r\n' : '\n';
  writeFileSync(join(root, path), `${lines.join(eol)}${eol}`);
  console.log(`✓ ${path}: ${changed} listing${changed === 1 ? '' : 's'} updated`);
}
console.log(failed === 0 ? 'docs are in sync' : `${failed} includes could not be synced (see above)`);
process.exit(failed === 0 ? 0 : 1);
