// Writes docs/output/verify-faults.txt, the output of the fault suite that the
// instructor guide shows, from the JSON report of a real `npm run verify` run:
//
//   node tools/verify/fault-output.ts reports/verify-<time>.json
//
// The lines are verify's own (the same formatting), for the fault steps of
// each stage in the report, so the page shows what a run printed.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatResult } from '../check/report.ts';
import type { RunReport } from './summary.ts';

const root = join(import.meta.dirname, '..', '..');
const FAULT_STEP = /^(fault-|replica-killed-under-load|worker-killed-during-burst|records-survive-down)/;

const file = process.argv[2];
if (!file) {
  console.error('Usage: node tools/verify/fault-output.ts reports/verify-<time>.json');
  process.exit(2);
}
const report = JSON.parse(readFileSync(file, 'utf8')) as RunReport;
const lines: string[] = [];
for (const stage of report.stages) {
  const steps = stage.checks.filter((check) => FAULT_STEP.test(check.id));
  if (steps.length === 0) continue;
  lines.push(`${stage.stage} (verify, ${report.startedAt.slice(0, 10)}, Docker ${report.docker.engine}):`);
  for (const step of steps)
    lines.push(
      ...formatResult(step)
        .split('\n')
        .map((line) => `  ${line}`),
    );
}
const out = join(root, 'docs', 'output', 'verify-faults.txt');
writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`docs/output/verify-faults.txt: ${lines.length} lines from ${file}`);
