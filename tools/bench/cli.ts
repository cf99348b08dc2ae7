// `npm run bench`: measures the workshop's system on this machine, side by
// side with what a user would otherwise pick, and writes docs/benchmarks.md
// and docs/benchmarks.json. See USAGE in args.ts and docs/benchmarks.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseOrExit } from '../lib/cli.ts';
import { killRunningCommands } from '../lib/process.ts';
import { repoRoot } from '../lib/root.ts';
import { type BenchArgs, parseBenchArgs, USAGE, writesDocs } from './args.ts';
import { benchBalancer } from './balancer.ts';
import { BenchContext } from './context.ts';
import { benchImages } from './images.ts';
import { benchJobs } from './jobs.ts';
import { describeMachine, load } from './machine.ts';
import { duration, extractExplanation, formatRatio, renderPage } from './render.ts';
import { type BenchReport, computeRatios, parseReport, REPORT_VERSION, ReportError } from './report.ts';
import { benchStartup } from './startup.ts';

const root = repoRoot;
const args: BenchArgs = parseOrExit(() => parseBenchArgs(process.argv.slice(2)), USAGE);

const docsDir = join(root, 'docs');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outDir = args.out ?? (writesDocs(args) ? docsDir : join(root, 'reports', `bench-${stamp}`));
const jsonPath = join(outDir, 'benchmarks.json');
const mdPath = join(outDir, 'benchmarks.md');

if (args.render) {
  try {
    writePage(parseReport(readFileSync(jsonPath, 'utf8')));
  } catch (err) {
    if (!(err instanceof ReportError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    console.error(`Cannot render ${relative(root, jsonPath)}: ${(err as Error).message}`);
    process.exit(1);
  }
  process.exit(0);
}

const ctx = new BenchContext(root, args.quick);
// Ctrl-C: stop what runs and clean up (processes, databases, containers), then leave.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.log('\nInterrupted: cleaning up (Ctrl-C again to leave at once)');
    killRunningCommands();
    ctx.cleanup().finally(() => process.exit(130));
  });
}

const report: BenchReport = {
  version: REPORT_VERSION,
  quick: args.quick,
  startedAt: new Date().toISOString(),
  durationMs: 0,
  machine: await describeMachine(),
  skipped: [],
};
ctx.progress(
  'bench',
  `${args.quick ? 'quick smoke run' : 'full run'} of ${args.sections.join(', ')} on ${report.machine.cpus} cores ` +
    `(load average ${report.machine.loadBefore.join(' ')}); results go to ${relative(root, outDir)}/`,
);

for (const section of args.sections) {
  ctx.progress(section, 'starting');
  try {
    if (section === 'balancer') {
      const { section: result, nginx } = await benchBalancer(ctx, { install: args.install });
      report.balancer = result;
      if (nginx) report.machine.nginx = nginx;
    } else if (section === 'jobs') {
      report.jobs = await benchJobs(ctx);
    } else if (section === 'images') {
      report.images = await benchImages(ctx);
    } else {
      report.startup = await benchStartup(ctx);
    }
  } catch (err) {
    if (interrupted) break;
    const reason = (err as Error).message;
    ctx.progress(section, `✗ not measured: ${reason}`);
    report.skipped.push({ section, reason: reason.split('\n')[0] ?? reason });
  }
}
if (interrupted) await new Promise(() => {}); // the signal handler exits
await ctx.cleanup();

report.machine.loadAfter = load();
report.durationMs = ctx.elapsedMs();
mkdirSync(outDir, { recursive: true });
writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
writePage(report);

console.log('');
for (const r of computeRatios(report)) {
  const goal = r.goal ? `  (goal ${r.goal.text}: ${r.goal.met ? 'met' : 'MISSED'})` : '';
  console.log(`${formatRatio(r).padStart(10)}  ${r.what}${goal}`);
}
console.log(
  `\nDone in ${duration(report.durationMs)}: ${relative(root, mdPath)}, ${relative(root, jsonPath)}`,
);
process.exit(report.skipped.length === 0 ? 0 : 1);

function writePage(result: BenchReport): void {
  // The hand-written part comes from the page being replaced, or else from docs/.
  const previous = [mdPath, join(docsDir, 'benchmarks.md')].find(existsSync);
  const explanation = extractExplanation(previous ? readFileSync(previous, 'utf8') : undefined);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(mdPath, renderPage(result, explanation));
}
