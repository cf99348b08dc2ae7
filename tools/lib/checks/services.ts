// Assertions about a compose project's containers, for the Docker checks.

import { type ComposeProject, type ContainerState, describeContainer } from '../compose.ts';
import { commandError, runCommand } from '../process.ts';
import { fail } from './assert.ts';

export async function containersOf(compose: ComposeProject, service: string): Promise<ContainerState[]> {
  const containers = (await compose.ps()).filter((c) => c.service === service);
  if (containers.length === 0) {
    fail(`compose project "${compose.project}" has no container for the service ${service}`);
  }
  return containers;
}

/** Every container of the service runs, and is healthy (the service must have a healthcheck). */
export async function expectHealthy(compose: ComposeProject, service: string): Promise<ContainerState[]> {
  const containers = await containersOf(compose, service);
  const sick = containers.filter((c) => c.state !== 'running' || c.health !== 'healthy');
  if (sick.length > 0) {
    const states = sick.map((c) => `${c.name} is ${describeContainer(c)}`).join(', ');
    const noCheck = sick.some((c) => c.state === 'running' && c.health === '');
    fail(`${states}, expected running (healthy)${noCheck ? '; the service has no healthcheck' : ''}`);
  }
  return containers;
}

/** A one-shot service (migrate) ran to its end with exit code 0. */
export async function expectCompleted(compose: ComposeProject, service: string): Promise<void> {
  for (const c of await containersOf(compose, service)) {
    if (c.state !== 'exited' || c.exitCode !== 0) {
      fail(`${c.name} is ${describeContainer(c)}, expected exited (0)`);
    }
  }
}

/** `docker compose exec -T <service> <command...>`; its output, trimmed. */
export async function exec(compose: ComposeProject, service: string, command: string[]): Promise<string> {
  const result = await compose.run(['exec', '-T', service, ...command]);
  if (result.code !== 0) fail(`docker compose exec ${service} ${command.join(' ')}: ${commandError(result)}`);
  return result.stdout.trim();
}

export interface Mount {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
}

/** The mounts of a container, as `docker inspect` shows them. */
export async function mountsOf(container: ContainerState): Promise<Mount[]> {
  const result = await runCommand('docker', ['inspect', '--format', '{{json .Mounts}}', container.name]);
  if (result.code !== 0) fail(`docker inspect ${container.name}: ${commandError(result)}`);
  return JSON.parse(result.stdout) as Mount[];
}

/** The running containers of a service (none is fine: the caller decides). */
export async function runningContainers(compose: ComposeProject, service: string): Promise<ContainerState[]> {
  return (await compose.ps()).filter((c) => c.service === service && c.state === 'running');
}

/**
 * The container a fault step stops or kills: the last of a service's running
 * containers, when there are several (one would stop the service, not test it).
 */
export async function aVictim(compose: ComposeProject, service: string): Promise<ContainerState> {
  const running = await runningContainers(compose, service);
  const victim = running.at(-1);
  if (!victim || running.length < 2) fail(`${running.length} ${service} container(s) run, expected several`);
  return victim;
}

/** The container's addresses on its compose networks, as `docker inspect` shows them. */
export async function addressesOf(container: ContainerState): Promise<string[]> {
  const format = '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}';
  const result = await runCommand('docker', ['inspect', '--format', format, container.name]);
  if (result.code !== 0) fail(`docker inspect ${container.name}: ${commandError(result)}`);
  return result.stdout.split(/\s+/).filter(Boolean);
}

/** `docker kill` (SIGKILL, no goodbye): what a crash or a pulled plug looks like. */
export async function kill(container: ContainerState): Promise<void> {
  const result = await runCommand('docker', ['kill', container.name], { timeoutMs: 30_000 });
  if (result.code !== 0) fail(`docker kill ${container.name}: ${commandError(result)}`);
}

/** `docker compose <args>` that must work, e.g. `up -d --scale web=2 --no-recreate`. */
export async function composeMust(
  compose: ComposeProject,
  args: string[],
  timeoutMs = 120_000,
): Promise<void> {
  const result = await compose.run(args, { timeoutMs });
  if (result.code !== 0) fail(`docker compose ${args.join(' ')}: ${commandError(result)}`);
}
