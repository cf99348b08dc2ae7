// Writes docs/output/verify-faults.txt, the output of the fault suite that the
// instructor guide shows, from the JSON report of a real `npm run verify` run:
//
//   node tools/verify/fault-output.ts reports/verify-<time>.json [more reports...]
//
// The lines are verify's own (the same formatting), for the fault steps of
// each stage in the reports (a stage verified again on its own: its report
// after the full run's), so the page shows what the runs printed.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatResult } from '../lib/checks/report.ts';
import { parseOrExit, readCommandLine, UsageError } from '../lib/cli.ts';
import { repoRoot as root } from '../lib/root.ts';
import type { RunReport } from './summary.ts';

const FAULT_STEP = /^(fault-|replica-killed-under-load|worker-killed-during-burst|records-survive-down)/;

const files = parseOrExit(() => {
  const { values, positionals } = readCommandLine(process.argv.slice(2), {}, { positionals: true });
  if (!values.help && positionals.length === 0) throw new UsageError('Which reports?');
  return { help: Boolean(values.help), files: positionals };
}, 'Usage: node tools/verify/fault-output.ts reports/verify-<time>.json [more reports...]').files;
// The last report that has a stage gives its lines.
const stages = new Map<string, string[]>();
for (const file of files) {
  const report = JSON.parse(readFileSync(file, 'utf8')) as RunReport;
  for (const stage of report.stages) {
    const steps = stage.checks.filter((check) => FAULT_STEP.test(check.id));
    if (steps.length === 0) continue;
    stages.set(stage.stage, [
      `${stage.stage} (verify, ${report.startedAt.slice(0, 10)}, Docker ${report.docker.engine}):`,
      ...steps.flatMap((step) =>
        formatResult(step)
          .split('\n')
          .map((line) => `  ${line}`),
      ),
    ]);
  }
}
const lines = [...stages.keys()].sort().flatMap((stage) => stages.get(stage) ?? []);
const out = join(root, 'docs', 'output', 'verify-faults.txt');
writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`docs/output/verify-faults.txt: ${lines.length} lines from ${files.join(', ')}`);
