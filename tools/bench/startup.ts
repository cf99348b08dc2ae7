// 4. Start-up: each stage's compose stack, from `up` to every service healthy,
// waited for exactly as `npm run verify` waits (tools/verify/stack.ts), in a
// project of its own (bench-NN) on free host ports.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCompose } from '../lib/compose-file.ts';
import { freeHostPort } from '../lib/ports.ts';
import { runCommand } from '../lib/process.ts';
import { createStack, HEALTHY_TIMEOUT_MS, type Stack } from '../lib/stack.ts';
import { listStages } from '../lib/stages.ts';
import type { BenchContext } from './context.ts';
import { seconds } from './render.ts';
import type { StartupResult, StartupSection } from './report.ts';

export async function benchStartup(ctx: BenchContext): Promise<StartupSection> {
  const log = (text: string) => ctx.progress('startup', text);
  const results: StartupResult[] = [];
  const stages = listStages(ctx.root).filter((stage) => existsSync(join(stage.dir, 'compose.yaml')));
  // A smoke run starts the first stage only: it shows that starting works.
  for (const stage of ctx.quick ? stages.slice(0, 1) : stages) {
    const file = join(stage.dir, 'compose.yaml');
    const project = `bench-${stage.name.slice(0, 2)}`;
    // WEB_PORT and every other published port's variable (DASHBOARD_PORT) get a free port.
    const taken: number[] = [];
    const env: Record<string, string> = {};
    for (const published of readCompose(stage).ports) {
      const port = await freeHostPort(undefined, taken);
      taken.push(port);
      if (published.variable) env[published.variable] = String(port);
    }
    const webPort = Number(env.WEB_PORT ?? (await freeHostPort(undefined, taken)));
    const stack = createStack({ file, project, port: webPort, env });
    let tornDown = false;
    const teardown = async () => {
      if (tornDown) return;
      tornDown = true;
      await stack.teardown();
      // The images go too (their layers stay in the build cache of the images section).
      await runCommand('docker', ['image', 'rm', `${project}-web`], { timeoutMs: 60_000 });
    };
    ctx.onCleanup(teardown);
    try {
      const leftovers = await stack.compose.ps().catch(() => []);
      if (leftovers.length > 0) {
        log(`${stage.name}: removing ${leftovers.length} containers left by an earlier run`);
        await stack.compose.run(['down', '-v', '--remove-orphans', '--timeout', '5'], { timeoutMs: 120_000 });
      }
      log(`${stage.name}: build (project ${project})`);
      await stack.build(false);
      log(`${stage.name}: up`);
      const t0 = performance.now();
      let failed = false;
      const answered = firstAnswerMs(stack, t0, () => failed);
      await stack.up().catch(async (err) => {
        failed = true;
        await answered;
        throw err;
      });
      const healthyMs = Math.round(performance.now() - t0);
      const containers = (await stack.compose.ps()).filter((c) => c.state === 'running').length;
      const result: StartupResult = { stage: stage.name, project, containers, healthyMs };
      const firstAnswer = await answered;
      if (firstAnswer !== undefined) result.firstAnswerMs = firstAnswer;
      results.push(result);
      log(
        `${stage.name}: ${result.containers} containers healthy after ${seconds(result.healthyMs)}` +
          (firstAnswer !== undefined ? `, first answer after ${seconds(firstAnswer)}` : ''),
      );
    } finally {
      await teardown();
    }
  }
  return { results };
}

/** Milliseconds from t0 to the first 200 from GET /healthz on the stack's port (asked every 100 ms). */
async function firstAnswerMs(stack: Stack, t0: number, failed: () => boolean): Promise<number | undefined> {
  while (performance.now() - t0 < HEALTHY_TIMEOUT_MS && !failed()) {
    try {
      const res = await fetch(`${stack.url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return Math.round(performance.now() - t0);
    } catch {
      // Not there yet.
    }
    await sleep(100);
  }
  return undefined;
}
