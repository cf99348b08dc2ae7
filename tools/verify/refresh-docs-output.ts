// Refreshes docs/output/check-NN.txt (and check-NN-docker.txt): the real
// output of `npm run check -- NN`, and of the Docker-only command, against the
// stage brought up with docker compose, for the instructor guide to include
// (the chapters' own outputs come from the walk, tools/walk). Then, for the
// stages in FAULTS, the output with one service stopped.
//
//   node tools/verify/refresh-docs-output.ts [stage...] [--ports FROM-TO] [--prefix NAME]
//
// Each stage runs in its own compose project (<prefix>-NN) on a free port, and
// is taken down again (down -v) whatever happens.
import { writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stagesWithChecks } from '../lib/checks/stage-checks.ts';
import { parseOrExit } from '../lib/cli.ts';
import { freePortsFor } from '../lib/ports.ts';
import { commandError, killRunningCommands, runCommand } from '../lib/process.ts';
import { repoRoot as root } from '../lib/root.ts';
import { createStack, type Stack } from '../lib/stack.ts';
import { parseVerifyArgs } from './args.ts';

/** The stages whose outputs the instructor guide shows, when no stage is named. */
const SHOWN = [2];
/** Faults shown in the docs: stop this service of the stage, save the output as check-NN-<name>.txt. */
const FAULTS: Record<number, { name: string; stop: string }> = {
  2: { name: 'redis-stopped', stop: 'redis' },
};
// Same command line as verify; the default prefix is its own (a --prefix given comes later, and wins).
const args = parseOrExit(
  () => parseVerifyArgs(['--prefix', 'verify-docs', ...process.argv.slice(2)], stagesWithChecks()),
  'Usage: node tools/verify/refresh-docs-output.ts [stage...] [--ports FROM-TO] [--prefix NAME]',
);
const stages =
  args.stages.length > 0 ? args.stages : stagesWithChecks().filter((stage) => SHOWN.includes(stage.number));
await mkdir(join(root, 'docs', 'output'), { recursive: true });

let current: Stack | undefined;
process.once('SIGINT', async () => {
  console.error('\nInterrupted: taking the stack down first...');
  killRunningCommands();
  await current?.teardown();
  process.exit(130);
});

let failed = false;
for (const stage of stages) {
  const nn = String(stage.number).padStart(2, '0');
  const project = `${args.prefix}-${nn}`;
  const ports = await freePortsFor(join(root, 'stages', stage.name), args.ports, []);
  const port = Number(ports.WEB_PORT);
  const stack = createStack({
    file: join(root, 'stages', stage.name, 'compose.yaml'),
    project,
    port,
    env: ports,
    // No --scale: the stage as its chapter brings it up (two web replicas from 04 on, one worker).
  });
  current = stack;
  try {
    const variables = Object.entries(ports).map(([name, value]) => `${name}=${value}`);
    console.log(`${stage.name}: build and up (project ${project}, ${variables.join(', ')})`);
    await stack.build(false);
    await stack.up();
    // The attendee's command, with the variables that point it at this stack.
    const env = { ...ports, COMPOSE_PROJECT_NAME: project };
    const npm = await runCommand('npm', ['run', 'check', '--', nn], { cwd: root, env, timeoutMs: 120_000 });
    save(`check-${nn}.txt`, npm.stdout, npm.code);
    // The Docker-only command (under a project name of our own).
    const checkCompose = ['compose', '-p', `${args.prefix}-check`, '-f', 'tools/check/compose.yaml'];
    const docker = await runCommand('docker', [...checkCompose, 'run', '--rm', '--build', 'check', nn], {
      cwd: root,
      env,
      timeoutMs: 300_000,
    });
    save(`check-${nn}-docker.txt`, docker.stdout, docker.code);
    if (docker.code !== 0) console.error(commandError(docker));
    await runCommand('docker', [...checkCompose, 'down']);
    const fault = FAULTS[stage.number];
    if (fault) {
      await stack.compose.run(['stop', fault.stop], { timeoutMs: 60_000 });
      const broken = await runCommand('npm', ['run', 'check', '--', nn], {
        cwd: root,
        env,
        timeoutMs: 120_000,
      });
      save(`check-${nn}-${fault.name}.txt`, broken.stdout, broken.code, 1);
    }
  } catch (err) {
    failed = true;
    console.error(`${stage.name}: ${(err as Error).message}`);
  } finally {
    const down = await stack.teardown();
    if (down.code !== 0) console.error(`${stage.name}: down -v failed: ${commandError(down)}`);
    current = undefined;
  }
}
process.exit(failed ? 1 : 0);

function save(name: string, stdout: string, code: number | null, expected = 0): void {
  // docker compose run prints its build steps on stdout before the checks: keep the checks.
  const start = stdout.search(/^(> |[✓✗-] )/m);
  writeFileSync(join(root, 'docs', 'output', name), stdout.slice(Math.max(start, 0)));
  console.log(`  docs/output/${name} (exit code ${code})`);
  if (code !== expected) failed = true;
}
