// A stage deployed as a stack on a Docker Swarm (stage 06), as the checks see
// it: through a manager's API (SWARM_HOST, e.g. tcp://127.0.0.1:2375) and the
// stack's name (STACK). Tasks, the nodes they run on, their logs.

import { commandError, runCommand } from '../process.ts';
import { fail, skip } from './assert.ts';
import type { CheckContext } from './types.ts';

export interface Swarm {
  /** The manager's API, as `docker -H` takes it. */
  readonly host: string;
  /** The stack's name: its services are <stack>_web, <stack>_db... */
  readonly stack: string;
}

export interface Task {
  readonly id: string;
  readonly service: string;
  /** The hostname of the node it is on. */
  readonly node: string;
  /** running, complete, failed, shutdown... */
  readonly state: string;
  readonly desired: string;
  /** The first 12 characters: the container's hostname, what X-Served-By says. */
  readonly container: string;
}

/** The swarm of the context (SWARM_HOST, STACK); skips the check when it runs without one. */
export function swarmOf(ctx: Pick<CheckContext, 'env'>): Swarm {
  const host = ctx.env.SWARM_HOST?.trim();
  if (!host) skip('SWARM_HOST is not set: which manager of the swarm to ask (tcp://127.0.0.1:2375)');
  return { host, stack: ctx.env.STACK?.trim() || 'workshop' };
}

/** `docker -H <manager> <args>`; its output, or a failed check. */
export async function swarmDocker(swarm: Swarm, args: string[], timeoutMs = 30_000): Promise<string> {
  const result = await runCommand('docker', ['-H', swarm.host, ...args], { timeoutMs });
  if (result.code !== 0) fail(`docker -H ${swarm.host} ${args.join(' ')}: ${commandError(result)}`);
  return result.stdout;
}

/** The tasks of a service of the stack, with their node and container. */
export async function tasksOf(swarm: Swarm, service: string): Promise<Task[]> {
  const name = `${swarm.stack}_${service}`;
  const ids = (await swarmDocker(swarm, ['service', 'ps', '-q', '--no-trunc', name]))
    .split('\n')
    .filter(Boolean);
  if (ids.length === 0) return [];
  const nodes = await nodeNames(swarm);
  const raw = JSON.parse(await swarmDocker(swarm, ['inspect', '--type', 'task', ...ids])) as RawTask[];
  return raw.map((t) => ({
    id: t.ID,
    service,
    node: nodes.get(t.NodeID ?? '') ?? t.NodeID ?? '',
    state: t.Status?.State ?? '',
    desired: t.DesiredState ?? '',
    container: (t.Status?.ContainerStatus?.ContainerID ?? '').slice(0, 12),
  }));
}

interface RawTask {
  ID: string;
  NodeID?: string;
  DesiredState?: string;
  Status?: { State?: string; ContainerStatus?: { ContainerID?: string } };
}

/** The running tasks of a service. */
export async function runningTasks(swarm: Swarm, service: string): Promise<Task[]> {
  return (await tasksOf(swarm, service)).filter((t) => t.state === 'running' && t.desired === 'running');
}

/** Node id -> hostname. */
export async function nodeNames(swarm: Swarm): Promise<Map<string, string>> {
  const lines = (await swarmDocker(swarm, ['node', 'ls', '--format', '{{.ID}} {{.Hostname}}'])).split('\n');
  const names = new Map<string, string>();
  for (const line of lines.filter(Boolean)) {
    const [short, hostname] = line.split(' ');
    names.set(short, hostname);
  }
  // `node ls` shows short ids; tasks carry the full one.
  const full = await swarmDocker(swarm, [
    'node',
    'inspect',
    '--format',
    '{{.ID}} {{.Description.Hostname}}',
    ...names.keys(),
  ]);
  for (const line of full.split('\n').filter(Boolean)) {
    const [id, hostname] = line.split(' ');
    names.set(id, hostname);
  }
  return names;
}

/** The log lines of a service, each with the node of the task that wrote it. */
export async function serviceLogs(swarm: Swarm, service: string): Promise<{ node: string; line: string }[]> {
  const out = await swarmDocker(
    swarm,
    ['service', 'logs', '--no-trunc', `${swarm.stack}_${service}`],
    60_000,
  );
  // "workshop_worker.2.<task id>@node2    | worker: record 5: stored ..."
  return out
    .split('\n')
    .map((text) => /^\S+@(\S+)\s+\|\s?(.*)$/.exec(text))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ node: m[1], line: m[2] }));
}
