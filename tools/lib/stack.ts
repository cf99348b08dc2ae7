// One stage's compose stack under verify: its own project name and host port,
// build, up with the stage's scaling, wait until healthy, logs, and a teardown
// that happens once, whoever asks for it first (the run, or Ctrl-C).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { mountsOf } from './checks/services.ts';
import { type ComposeProject, type ContainerState, composeProject, describeContainer } from './compose.ts';
import { type CommandResult, commandError, runCommand } from './process.ts';

export const BUILD_TIMEOUT_MS = 10 * 60_000;
export const HEALTHY_TIMEOUT_MS = 120_000;

/** A step that did not work; the message says what was seen. */
export class StepFailed extends Error {}

export interface StackOptions {
  /** The compose file of the stage. */
  file: string;
  project: string;
  port: number;
  /** More variables for compose, such as the other published ports (DASHBOARD_PORT). */
  env?: Readonly<Record<string, string>>;
  scale?: Readonly<Record<string, number>>;
  /** Stream compose's own output. */
  verbose?: boolean;
  /** Called with a line of progress: state changes while waiting. */
  progress?: (line: string) => void;
}

export interface Stack {
  readonly compose: ComposeProject;
  readonly url: string;
  build(noCache: boolean): Promise<void>;
  /**
   * up -d with the stage's scaling, then waits until every service is healthy
   * or done. `env`: more variables for this once (WORKER_STEP_DELAY_MS=250):
   * compose recreates the containers whose settings they change.
   */
  up(env?: Readonly<Record<string, string>>): Promise<void>;
  /** down without -v: containers go, named volumes stay. */
  down(): Promise<void>;
  /** down -v --remove-orphans, once; later calls get the same promise. */
  teardown(): Promise<CommandResult>;
  readonly tearingDown: boolean;
  /** Services whose containers are not running/healthy or did not exit 0. */
  badServices(): Promise<string[]>;
  /** The last lines of each service's log. */
  logs(services: string[], lines: number): Promise<string>;
}

export function createStack(options: StackOptions): Stack {
  const compose = composeProject({
    project: options.project,
    file: options.file,
    env: { ...options.env, WEB_PORT: String(options.port) },
  });
  const echo = options.verbose;
  const must = async (what: string, args: string[], timeoutMs: number, env?: Record<string, string>) => {
    const result = await compose.run(args, { timeoutMs, echo, env });
    if (result.code !== 0) throw new StepFailed(`${what} failed: ${commandError(result)}`);
    return result;
  };
  const scaleArgs = Object.entries(options.scale ?? {}).flatMap(([service, n]) => [
    '--scale',
    `${service}=${n}`,
  ]);
  let teardown: Promise<CommandResult> | undefined;

  const up = async (env?: Readonly<Record<string, string>>) => {
    const args = ['up', '-d', '--no-build', ...scaleArgs];
    await must('docker compose up', args, HEALTHY_TIMEOUT_MS + 60_000, { ...env });
    await waitHealthy(compose, () => teardown !== undefined, options.progress);
  };

  return {
    compose,
    url: `http://127.0.0.1:${options.port}`,
    build: async (noCache) => {
      await must('docker compose build', ['build', ...(noCache ? ['--no-cache'] : [])], BUILD_TIMEOUT_MS);
    },
    up,
    down: async () => {
      // down without -v keeps the named volumes, and also the anonymous ones
      // that images declare (redis's /data): remove those, or every run leaks one.
      const anonymous = await anonymousVolumes(compose);
      await must('docker compose down', ['down', '--timeout', '10'], 120_000);
      if (anonymous.length > 0)
        await runCommand('docker', ['volume', 'rm', ...anonymous], { timeoutMs: 60_000 });
    },
    teardown: () => {
      teardown ??= compose.run(['down', '-v', '--remove-orphans', '--timeout', '10'], {
        timeoutMs: 120_000,
        echo,
      });
      return teardown;
    },
    get tearingDown() {
      return teardown !== undefined;
    },
    badServices: async () => {
      const containers = await compose.ps().catch(() => []);
      return [...new Set(containers.filter((c) => verdict(c) !== 'ok').map((c) => c.service))];
    },
    logs: async (services, lines) => {
      const result = await compose.run(['logs', '--no-color', '--tail', String(lines), ...services]);
      // compose adds terminal escapes (erase line) even with --no-color.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what we remove
      return (result.stdout + result.stderr).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trimEnd();
    },
  };
}

type Verdict = 'ok' | 'waiting' | 'failed';

/** A running container is ok once healthy (or when it has no healthcheck); a one-shot once it exited 0. */
function verdict(c: ContainerState): Verdict {
  if (c.state === 'running') {
    if (c.health === 'unhealthy') return 'failed';
    return c.health === '' || c.health === 'healthy' ? 'ok' : 'waiting';
  }
  if (c.state === 'exited' || c.state === 'dead')
    return c.exitCode === 0 && c.state === 'exited' ? 'ok' : 'failed';
  return 'waiting'; // created, restarting
}

/** Polls `docker compose ps` until every service is ok; fails at once when one fails. */
async function waitHealthy(
  compose: ComposeProject,
  tornDown: () => boolean,
  progress?: (line: string) => void,
): Promise<void> {
  const services = await compose.run(['config', '--services']);
  if (services.code !== 0) throw new StepFailed(`docker compose config failed: ${commandError(services)}`);
  const expected = services.stdout.split('\n').filter(Boolean);
  const started = performance.now();
  let last = '';
  while (performance.now() - started < HEALTHY_TIMEOUT_MS) {
    const containers = await compose.ps();
    if (tornDown()) throw new StepFailed('the stack was taken down while waiting');
    const states = containers.map((c) => `${c.service} ${describeContainer(c)}`).join(', ');
    if (states !== last) progress?.(states);
    last = states;
    const failed = containers.filter((c) => verdict(c) === 'failed');
    if (failed.length > 0) {
      throw new StepFailed(
        `not healthy: ${failed.map((c) => `${c.name} is ${describeContainer(c)}`).join(', ')}`,
      );
    }
    const missing = expected.filter((service) => !containers.some((c) => c.service === service));
    if (missing.length === 0 && containers.every((c) => verdict(c) === 'ok')) return;
    await sleep(1000);
  }
  throw new StepFailed(`not healthy after ${HEALTHY_TIMEOUT_MS / 1000} s: ${last}`);
}

/** The volumes of the project's containers that are not named volumes of the project. */
async function anonymousVolumes(compose: ComposeProject): Promise<string[]> {
  const names: string[] = [];
  for (const container of await compose.ps()) {
    for (const mount of await mountsOf(container)) {
      if (mount.Type === 'volume' && mount.Name && !mount.Name.startsWith(`${compose.project}_`)) {
        names.push(mount.Name);
      }
    }
  }
  return names;
}
