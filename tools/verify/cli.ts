// `npm run verify`: every stage, end to end, in Docker, the way an instructor
// proves the workshop works before a class. See docs/instructor-guide.md.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { count, formatResult } from '../lib/checks/report.ts';
import type { CheckResult } from '../lib/checks/run.ts';
import { loadStages, stagesWithChecks } from '../lib/checks/stage-checks.ts';
import { runStageChecks } from '../lib/checks/stage-run.ts';
import { parseOrExit } from '../lib/cli.ts';
import { freePortsFor } from '../lib/ports.ts';
import { commandError, killRunningCommands, runCommand } from '../lib/process.ts';
import { repoRoot as root } from '../lib/root.ts';
import { createStack, type Stack } from '../lib/stack.ts';
import type { Stage } from '../lib/stages.ts';
import { parseVerifyArgs, USAGE, type VerifyArgs } from './args.ts';
import { isClusterStage, verifyCluster } from './cluster.ts';
import { formatTable, type RunReport, type StageReport, seconds, writeReport } from './summary.ts';

const LOG_LINES = 25;

// ------------------------------------------------------------ what to verify

const withChecks = stagesWithChecks();
const args: VerifyArgs = parseOrExit(() => parseVerifyArgs(process.argv.slice(2), withChecks), USAGE);

const stagesDir = args.stagesDir ? resolve(args.stagesDir) : join(root, 'stages');
const composeFile = (stage: Stage) => join(stagesDir, stage.name, 'compose.yaml');
const present = withChecks.filter((stage) => existsSync(composeFile(stage)));
const stages = args.stages.length > 0 ? args.stages : present;
for (const stage of stages.filter((s) => !present.includes(s))) {
  console.error(`${composeFile(stage)} does not exist (yet).`);
  process.exit(2);
}
for (const folder of stageFoldersWithoutChecks()) {
  console.log(`(stages/${folder} has no checks yet: add tools/lib/checks/stages/${folder}.ts; not verified)`);
}

// ------------------------------------------------------------ is Docker there

const engine = await runCommand('docker', ['version', '--format', '{{.Server.Version}}'], {
  timeoutMs: 20_000,
});
if (engine.code !== 0) {
  console.error(
    `No Docker engine answers (${commandError(engine).split('\n').at(-1)}).\n` +
      'Start Docker (Docker Desktop, or `sudo systemctl start docker` on Linux) and run `npm run verify` again.',
  );
  process.exit(1);
}
const composeVersion = await runCommand('docker', ['compose', 'version', '--short'], { timeoutMs: 20_000 });
if (composeVersion.code !== 0 || !/^v?[2-9]\./.test(composeVersion.stdout.trim())) {
  const said = composeVersion.code === 0 ? composeVersion.stdout.trim() : commandError(composeVersion);
  console.error(
    `Docker Compose v2 is missing: \`docker compose version\` says "${said.split('\n').at(-1)}".\n` +
      'The stages need `docker compose` (v2): Docker Desktop has it; on Linux install the ' +
      'docker-compose-plugin package. The old `docker-compose` (v1) will not do.',
  );
  process.exit(1);
}

// ------------------------------------------------------------ the run

const started = performance.now();
const report: RunReport = {
  startedAt: new Date().toISOString(),
  docker: { engine: engine.stdout.trim(), compose: composeVersion.stdout.trim() },
  interrupted: false,
  ok: false,
  stages: [],
};
let current: Pick<Stack, 'compose' | 'tearingDown' | 'teardown'> | undefined;
let currentResult: StageReport | undefined;

function progress(stage: Stage, text: string): void {
  const elapsed = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  console.log(`[${elapsed} s] ${stage.name.padEnd(12)} ${text}`);
}

// Ctrl-C (or a kill): stop what runs, take the stack down, then leave. A
// second Ctrl-C leaves at once and says what is left behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (report.interrupted) {
      console.error(
        `Leaving without teardown. Clean up: docker compose -p ${current?.compose.project} down -v`,
      );
      process.exit(130);
    }
    report.interrupted = true;
    if (currentResult) currentResult.error = 'interrupted';
    console.error(
      `\n${signal}: stopping.${current ? ` Taking ${current.compose.project} down first...` : ''}`,
    );
    if (current && !current.tearingDown) killRunningCommands();
    const result = await current?.teardown();
    if (result && result.code !== 0) console.error(`down -v failed: ${commandError(result)}`);
    finish();
    process.exit(130);
  });
}

console.log(
  `Verifying ${stages.map((s) => s.name).join(', ')} ` +
    `(Docker ${report.docker.engine}, Compose ${report.docker.compose})`,
);
const taken: number[] = [];
for (const stage of stages) {
  await verifyStage(stage, await freePortsFor(join(stagesDir, stage.name), args.ports, taken));
}
report.ok = report.stages.every((s) => s.ok);
finish();
process.exit(report.ok ? 0 : 1);

// ------------------------------------------------------------ one stage

/** `ports`: WEB_PORT and the stage's other published ports' variables, each a free port. */
async function verifyStage(stage: Stage, ports: Record<string, string>): Promise<void> {
  const port = Number(ports.WEB_PORT);
  const project = `${args.prefix}-${String(stage.number).padStart(2, '0')}`;
  const result: StageReport = {
    stage: stage.name,
    project,
    port,
    ok: false,
    passed: 0,
    failed: 0,
    skipped: 0,
    checks: [],
  };
  // In the report from the start: an interrupted run still shows how far it got.
  report.stages.push(result);
  currentResult = result;
  // A stage deployed on a swarm (06): a cluster of engines instead of one compose project.
  if (isClusterStage(readdirSync(join(stagesDir, stage.name)))) {
    const dir = join(stagesDir, stage.name);
    const indented = (check: CheckResult) => console.log(indent(formatResult(check), 6));
    const onCluster = (cluster: typeof current) => {
      current = cluster;
    };
    const say = (line: string) => progress(stage, line);
    await verifyCluster({
      root,
      stage,
      dir,
      project,
      result,
      ports,
      verbose: args.verbose,
      noCache: args.noCache,
      progress: say,
      onCluster,
      onResult: indented,
    });
    progress(stage, result.ok ? `✓ ok (${result.passed} checks passed)` : '✗ FAILED');
    current = undefined;
    return;
  }
  const loaded = await loadStages(stage.number);
  const checks = loaded.find((s) => s.name === stage.name)?.checks;
  const stack = createStack({
    file: composeFile(stage),
    project,
    port,
    env: ports,
    scale: checks?.verify?.scale,
    verbose: args.verbose,
    progress: (line) => progress(stage, `  ${line}`),
  });
  current = stack;
  const step = async (name: string, fn: () => Promise<void>) => {
    progress(stage, name);
    const t0 = performance.now();
    await fn();
    return Math.round(performance.now() - t0);
  };
  try {
    const leftovers = await stack.compose.ps().catch(() => []);
    if (leftovers.length > 0) {
      await step(`removing ${leftovers.length} containers left by an earlier run`, async () => {
        await stack.compose.run(['down', '-v', '--remove-orphans', '--timeout', '5'], { timeoutMs: 120_000 });
      });
    }
    result.buildMs = await step(`build${args.noCache ? ' --no-cache' : ''}`, () => stack.build(args.noCache));
    const scale = Object.entries(checks?.verify?.scale ?? {}).map(([s, n]) => ` --scale ${s}=${n}`);
    const variables = Object.entries(ports).map(([name, value]) => `${name}=${value}`);
    result.healthyMs = await step(
      `up (project ${project}, ${variables.join(', ')}${scale.join('')})`,
      stack.up,
    );
    progress(stage, `healthy after ${seconds(result.healthyMs)}; checks against ${stack.url}`);
    result.checks = await runStageChecks({
      stage,
      url: stack.url,
      compose: stack.compose,
      docker: true,
      env: ports,
      verify: { up: stack.up, down: stack.down, scale: checks?.verify?.scale ?? {} },
      onResult: (check) => console.log(indent(formatResult(check), 6)),
    });
    Object.assign(result, count(result.checks));
    // In verify every Docker check must run: a skipped one would hide a problem.
    result.ok = result.failed === 0 && result.skipped === 0;
    if (result.skipped > 0) result.error = `${result.skipped} checks were skipped`;
  } catch (err) {
    result.error = report.interrupted ? 'interrupted' : (err as Error).message;
    if (!report.interrupted) progress(stage, `✗ ${result.error}`);
  }
  if (!result.ok && !report.interrupted) {
    const services = await servicesToShow(stack, result.checks);
    if (services.length > 0) {
      result.logs = await stack.logs(services, LOG_LINES);
      progress(stage, `last ${LOG_LINES} log lines of ${services.join(', ')}:`);
      console.log(indent(result.logs, 6));
    }
  }
  await step('down -v', async () => {
    const down = await stack.teardown();
    if (down.code !== 0) {
      result.teardownError = commandError(down);
      progress(stage, `✗ down -v failed: ${result.teardownError}`);
    }
  });
  progress(stage, result.ok ? `✓ ok (${result.passed} checks passed)` : '✗ FAILED');
  current = undefined;
}

/**
 * The services that are not healthy and those the failed checks name; when
 * that is none, the ones published on the host (the checks talk to those).
 */
async function servicesToShow(stack: Stack, results: readonly CheckResult[]): Promise<string[]> {
  // A failed check of an earlier stage may name a service this stage does not have.
  const config = await stack.compose.run(['config', '--services']);
  const existing = config.stdout.split('\n').filter(Boolean);
  const named = results
    .filter((r) => r.status === 'failed')
    .flatMap((r) => r.logs ?? [])
    .filter((service) => existing.includes(service));
  const services = new Set([...(await stack.badServices()), ...named]);
  if (services.size > 0) return [...services];
  const containers = await stack.compose.ps().catch(() => []);
  return [...new Set(containers.filter((c) => c.published).map((c) => c.service))];
}

function finish(): void {
  report.finishedAt = new Date().toISOString();
  report.durationMs = Math.round(performance.now() - started);
  console.log(`\n${formatTable(report.stages)}`);
  const file = writeReport(root, report);
  const verdict = report.interrupted ? 'interrupted' : report.ok ? 'all stages ok' : 'FAILED';
  console.log(`\n${verdict} in ${seconds(report.durationMs)}; report: ${file}`);
}

function indent(text: string, spaces: number): string {
  return text
    .split('\n')
    .map((line) => ' '.repeat(spaces) + line)
    .join('\n');
}

function stageFoldersWithoutChecks(): string[] {
  return readdirSync(stagesDir).filter(
    (folder) =>
      /^\d\d-/.test(folder) &&
      existsSync(join(stagesDir, folder, 'compose.yaml')) &&
      !withChecks.some((s) => s.name === folder),
  );
}
