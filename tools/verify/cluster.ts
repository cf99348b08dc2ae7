// `npm run verify -- 06`: a stage that runs as a stack on a Docker Swarm. It
// builds the image once, brings up a registry and three Docker engines in
// containers (the stage's cluster.yaml), makes a swarm of them, pushes the
// image, deploys stack.yaml, runs the checks and the cluster's own steps (a
// rolling update, a lost node: cluster-steps.ts), and always tears it all down.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeSecrets } from '../../stages/06-cluster/scripts/keys.ts';
import { createHttp } from '../lib/checks/http.ts';
import { count } from '../lib/checks/report.ts';
import { type CheckResult, runChecks } from '../lib/checks/run.ts';
import { cumulativeChecks, loadStages } from '../lib/checks/stage-checks.ts';
import { operatorToken, withBearer } from '../lib/checks/tokens.ts';
import type { VerifyContext } from '../lib/checks/types.ts';
import { type ComposeProject, composeProject } from '../lib/compose.ts';
import { freeHostPort } from '../lib/ports.ts';
import { type CommandResult, commandError, runCommand } from '../lib/process.ts';
import { StepFailed } from '../lib/stack.ts';
import type { Stage } from '../lib/stages.ts';
import { clusterSteps } from './cluster-steps.ts';
import { type StageReport, seconds } from './summary.ts';

export const STACK = 'workshop';
const NODES = ['node1', 'node2', 'node3'];
/** The images the stack takes from Docker Hub: the nodes pull them through the registry (its mirror). */
const HUB_IMAGES = ['redis:7-bookworm', 'postgres:17-bookworm'];
// Every node pulls the images first: minutes on a busy laptop.
const HEALTHY_TIMEOUT_MS = 480_000;

/** What the Ctrl-C handler of verify needs: tear it all down, once. */
export interface ClusterHandle {
  readonly compose: ComposeProject;
  readonly tearingDown: boolean;
  teardown(): Promise<CommandResult>;
}

export interface ClusterRun {
  root: string;
  stage: Stage;
  /** The stage's folder, with cluster.yaml and stack.yaml. */
  dir: string;
  /** The compose project of the cluster (registry and nodes). */
  project: string;
  /** Filled in as the run goes: an interrupted run still shows how far it got. */
  result: StageReport;
  /** WEB_PORT and DASHBOARD_PORT, free on this machine. */
  ports: Record<string, string>;
  verbose: boolean;
  noCache: boolean;
  progress: (line: string) => void;
  onCluster: (cluster: ClusterHandle) => void;
  /** Each check's result, as it comes. */
  onResult: (check: CheckResult) => void;
}

/** True for a stage folder that is deployed as a stack (has stack.yaml and cluster.yaml). */
export function isClusterStage(files: readonly string[]): boolean {
  return files.includes('stack.yaml') && files.includes('cluster.yaml');
}

export async function verifyCluster(run: ClusterRun): Promise<void> {
  const { result, progress } = run;
  const registryPort = String(await freeHostPort());
  const apiPort = String(await freeHostPort());
  const secrets = mkdtempSync(join(tmpdir(), `${run.project}-secrets-`));
  makeSecrets(secrets);
  const env = { ...run.ports, REGISTRY_PORT: registryPort, SWARM_API_PORT: apiPort };
  const compose = composeProject({ project: run.project, file: join(run.dir, 'cluster.yaml'), env });
  const swarmHost = `tcp://127.0.0.1:${apiPort}`;
  const tag = await revision(run.root);
  const local = `${run.project}-web:${tag}`;
  const pushed = (image: string) => `127.0.0.1:${registryPort}/${image}`;
  const echo = run.verbose;

  let teardown: Promise<CommandResult> | undefined;
  const handle: ClusterHandle = {
    compose,
    get tearingDown() {
      return teardown !== undefined;
    },
    teardown: () => {
      teardown ??= (async () => {
        const down = await compose.run(['down', '-v', '--remove-orphans', '--timeout', '5'], {
          timeoutMs: 180_000,
          echo,
        });
        const tags = [local, pushed(`workshop/web:${tag}`), ...HUB_IMAGES.map((i) => pushed(`library/${i}`))];
        await runCommand('docker', ['image', 'rm', ...tags], { timeoutMs: 60_000 });
        rmSync(secrets, { recursive: true, force: true });
        return down;
      })();
      return teardown;
    },
  };
  run.onCluster(handle);

  const must = async (what: string, command: string, args: string[], timeoutMs = 120_000, cmdEnv = {}) => {
    const out = await runCommand(command, args, { timeoutMs, echo, env: cmdEnv });
    if (out.code !== 0) throw new StepFailed(`${what} failed: ${commandError(out)}`);
    return out.stdout.trim();
  };
  const onNode = (node: string, args: string[], timeoutMs = 60_000) =>
    must(
      `docker ${args[0]} on ${node}`,
      'docker',
      [
        'compose',
        '-f',
        join(run.dir, 'cluster.yaml'),
        '-p',
        run.project,
        'exec',
        '-T',
        node,
        'docker',
        ...args,
      ],
      timeoutMs,
      env,
    );
  const swarm = (args: string[], timeoutMs = 120_000, cmdEnv = {}) =>
    must(`docker ${args.slice(0, 2).join(' ')}`, 'docker', ['-H', swarmHost, ...args], timeoutMs, cmdEnv);
  const step = async (name: string, fn: () => Promise<void>) => {
    progress(name);
    const t0 = performance.now();
    await fn();
    return Math.round(performance.now() - t0);
  };

  try {
    const leftovers = await compose.ps().catch(() => []);
    if (leftovers.length > 0) {
      await step(`removing ${leftovers.length} containers left by an earlier run`, async () => {
        await compose.run(['down', '-v', '--remove-orphans', '--timeout', '5'], { timeoutMs: 180_000 });
      });
    }
    result.buildMs = await step(`build ${local}${run.noCache ? ' --no-cache' : ''}`, async () => {
      await must(
        'docker build',
        'docker',
        ['build', ...(run.noCache ? ['--no-cache'] : []), '-t', local, run.dir],
        600_000,
      );
    });

    // #region from-nothing
    const t0 = performance.now();
    const since = () => seconds(performance.now() - t0);
    await step(
      `cluster up (project ${run.project}: registry on 127.0.0.1:${registryPort}, ${NODES.join(', ')}; node1's API on ${swarmHost})`,
      async () => {
        await must(
          'docker compose up (cluster)',
          'docker',
          ['compose', '-f', join(run.dir, 'cluster.yaml'), '-p', run.project, 'up', '-d'],
          180_000,
          env,
        );
        for (const node of NODES) {
          const ready = () =>
            onNode(node, ['info', '--format', '{{.ServerVersion}}']).then(Boolean, () => undefined);
          // Seen once on a loaded machine: an engine that had not come up after 90 s.
          // Its log says why; then it gets one restart, as an attendee would give it.
          await waitFor(`the engine in ${node}`, 60_000, ready).catch(async (err: Error) => {
            const logs = await compose.run(['logs', '--tail', '15', node], { timeoutMs: 30_000 });
            progress(`${err.message}; its last log lines, then a restart:`);
            console.log(`${logs.stdout}${logs.stderr}`.trimEnd().replace(/^/gm, '      '));
            await compose.run(['restart', node], { timeoutMs: 120_000, echo });
            await waitFor(`the engine in ${node}, restarted`, 90_000, ready);
          });
        }
        await waitFor('the registry', 30_000, () =>
          fetch(`http://127.0.0.1:${registryPort}/v2/`).then(
            (r) => r.ok || undefined,
            () => undefined,
          ),
        );
      },
    );
    await step('swarm init on node1, join node2 and node3, label node1 state=true', async () => {
      const [node1] = (await compose.ps()).filter((c) => c.service === 'node1');
      const ip = await must('docker inspect node1', 'docker', [
        'inspect',
        '-f',
        '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
        node1.name,
      ]);
      await onNode('node1', ['swarm', 'init', '--advertise-addr', ip]);
      const token = await onNode('node1', ['swarm', 'join-token', '-q', 'worker']);
      for (const node of NODES.slice(1))
        await onNode(node, ['swarm', 'join', '--token', token, `${ip}:2377`]);
      await swarm(['node', 'update', '--label-add', 'state=true', 'node1']);
      progress(`  swarm of ${NODES.length} nodes after ${since()}`);
    });
    await step(
      `push ${local} as registry:5000/workshop/web:${tag}, and ${HUB_IMAGES.join(', ')} under library/`,
      async () => {
        const images: [string, string][] = [
          [local, `workshop/web:${tag}`],
          ...HUB_IMAGES.map((i): [string, string] => [i, `library/${i}`]),
        ];
        for (const [from, to] of images) {
          await must('docker tag', 'docker', ['tag', from, pushed(to)]);
          await must(`docker push ${to}`, 'docker', ['push', '-q', pushed(to)], 300_000);
        }
      },
    );
    await step(`docker stack deploy -c stack.yaml ${STACK} (TAG=${tag})`, async () => {
      await swarm(['stack', 'deploy', '--detach=true', '-c', join(run.dir, 'stack.yaml'), STACK], 120_000, {
        TAG: tag,
        REGISTRY: 'registry:5000',
        SECRETS_DIR: secrets,
      });
    });
    const url = `http://127.0.0.1:${run.ports.WEB_PORT}`;
    const checkEnv = {
      ...run.ports,
      SWARM_HOST: swarmHost,
      STACK,
      JWT_PRIVATE_KEY_FILE: join(secrets, 'jwt-private.pem'),
    };
    const token = await operatorToken({ env: checkEnv }, ['records:write', 'dashboard'], '2h');
    const http = withBearer(createHttp(url), token);
    await step('waiting for every service to run its replicas, and the proxy to answer', async () => {
      let last = '';
      await waitFor(
        'the stack',
        HEALTHY_TIMEOUT_MS,
        async () => {
          const states = await swarm([
            'stack',
            'services',
            '--format',
            '{{.Name}} {{.Replicas}}',
            STACK,
          ]).catch(() => '');
          const shown = states
            .split('\n')
            .filter(Boolean)
            .map((l) => l.replace(`${STACK}_`, ''))
            .join(', ');
          if (shown !== last) progress(`  ${shown} (${since()})`);
          last = shown;
          const ready =
            shown !== '' &&
            shown.split(', ').every((line) => {
              const [name, replicas = '', ...rest] = line.split(' ');
              if (name === 'migrate') return rest.join(' ').includes('1/1 completed');
              const [running, wanted] = replicas.split('/');
              return running === wanted && running !== '0';
            });
          if (!ready) return undefined;
          const lb = await http.get('/__lb').catch(() => undefined);
          const replicas = (lb?.json as { replicas?: { state: string }[] } | undefined)?.replicas ?? [];
          return replicas.length >= 2 && replicas.every((r) => r.state === 'up') ? true : undefined;
        },
        2000,
      );
    });
    result.healthyMs = Math.round(performance.now() - t0);
    progress(
      `healthy after ${seconds(result.healthyMs)} from nothing (cluster, swarm, push, deploy); checks against ${url}`,
    );
    // #endregion from-nothing

    const loaded = await loadStages(run.stage.number);
    const own = loaded.find((s) => s.number === run.stage.number) ?? { ...run.stage, checks: { checks: [] } };
    const staged = [
      ...cumulativeChecks(loaded, run.stage.number),
      ...clusterSteps.map((check) => ({ check, from: own })),
    ];
    const ctx: VerifyContext = {
      stage: run.stage.name,
      url,
      http,
      compose,
      env: checkEnv,
      scale: {},
      up: () => Promise.reject(new Error('a stack is not brought up again by a check')),
      down: () => Promise.reject(new Error('a stack is not taken down by a check')),
    };
    result.checks = await runChecks(staged, ctx, { onResult: run.onResult });
    Object.assign(result, count(result.checks));
    result.ok = result.failed === 0 && result.skipped === 0;
    if (result.skipped > 0) result.error = `${result.skipped} checks were skipped`;
    if (!result.ok) {
      const services = [
        ...new Set(result.checks.filter((c) => c.status === 'failed').flatMap((c) => c.logs ?? [])),
      ];
      result.logs = await serviceLogs(swarmHost, services);
    }
  } catch (err) {
    // Ctrl-C: verify's handler has said so and is tearing down; the step that it cut short is no failure of its own.
    if (handle.tearingDown) {
      await handle.teardown();
      return;
    }
    result.error = (err as Error).message;
    progress(`✗ ${result.error}`);
    result.logs = await serviceLogs(swarmHost, ['web', 'worker', 'proxy', 'migrate', 'db', 'redis']).catch(
      () => '',
    );
  }
  if (result.logs) {
    progress('last log lines of the failing services:');
    console.log(result.logs.replace(/^/gm, '      '));
  }
  const downMs = await step('teardown (cluster down -v, images removed)', async () => {
    const down = await handle.teardown();
    if (down.code !== 0) result.teardownError = commandError(down);
  });
  progress(`  torn down in ${seconds(downMs)}`);
}

/** The git revision, short: the image's tag. `-dirty` when the working tree has changes. */
async function revision(root: string): Promise<string> {
  const rev = await runCommand('git', ['rev-parse', '--short', 'HEAD'], { cwd: root });
  const dirty = await runCommand('git', ['status', '--porcelain', '--', 'stages/06-cluster'], { cwd: root });
  const base = rev.code === 0 ? rev.stdout.trim() : 'dev';
  return dirty.code === 0 && dirty.stdout.trim() !== '' ? `${base}-dirty` : base;
}

async function waitFor<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 1000,
): Promise<T> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(intervalMs);
  }
  throw new StepFailed(`${what}: not ready within ${seconds(ms)}`);
}

/** The last lines of each service's log, through the manager. */
async function serviceLogs(host: string, services: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const service of services) {
    const out = await runCommand(
      'docker',
      ['-H', host, 'service', 'logs', '--tail', '25', '--no-trunc', `${STACK}_${service}`],
      { timeoutMs: 30_000 },
    );
    if (out.code === 0) parts.push(`--- ${service}\n${(out.stdout + out.stderr).trimEnd()}`);
  }
  return parts.join('\n');
}
