// A compose project as the tools see it: `docker compose -p NAME ...` with a
// deadline (see process.ts), and its containers as `docker compose ps` shows them.
import { type CommandOptions, type CommandResult, commandError, runCommand } from './process.ts';

/** One container of a compose project, as `docker compose ps` shows it. */
export interface ContainerState {
  /** The short id, which is also the container's hostname (what X-Served-By says in stage 04). */
  readonly id: string;
  readonly name: string;
  readonly service: string;
  /** running, exited, restarting, created... */
  readonly state: string;
  /** healthy, unhealthy, starting, or "" when the service has no healthcheck. */
  readonly health: string;
  readonly exitCode: number;
  /** Publishes a port on the host (the service a browser talks to). */
  readonly published: boolean;
  /** What it publishes: "0.0.0.0:8080->8080", "127.0.0.1:3000->3000". */
  readonly ports: readonly PublishedPort[];
}

export interface PublishedPort {
  /** The host address it is bound to: 0.0.0.0 (every address), ::, 127.0.0.1... */
  readonly address: string;
  readonly published: number;
  readonly target: number;
}

export interface ComposeProject {
  readonly project: string;
  /** `docker compose <args>` in this project. */
  run(args: string[], options?: CommandOptions): Promise<CommandResult>;
  /** Every container of the project, the stopped ones too. */
  ps(): Promise<ContainerState[]>;
}

export interface ComposeOptions {
  project: string;
  /** The compose file; without it, compose finds the project by its name alone. */
  file?: string;
  /** Extra environment for compose (WEB_PORT). */
  env?: Record<string, string>;
}

export function composeProject(options: ComposeOptions): ComposeProject {
  const base = [...(options.file ? ['-f', options.file] : []), '-p', options.project];
  const run = (args: string[], commandOptions: CommandOptions = {}) =>
    runCommand('docker', ['compose', ...base, ...args], {
      ...commandOptions,
      env: { ...options.env, ...commandOptions.env },
    });
  return {
    project: options.project,
    run,
    ps: async () => {
      const result = await run(['ps', '--all', '--format', 'json']);
      if (result.code !== 0) throw new Error(`docker compose ps: ${commandError(result)}`);
      return parsePs(result.stdout);
    },
  };
}

/** compose 2.21+ prints one JSON object per line; older versions print one array. */
export function parsePs(stdout: string): ContainerState[] {
  const text = stdout.trim();
  if (!text) return [];
  const raw: Record<string, unknown>[] = text.startsWith('[')
    ? JSON.parse(text)
    : text.split('\n').map((line) => JSON.parse(line));
  return raw
    .map((c) => {
      const ports = publishersOf(c.Publishers);
      return {
        id: String(c.ID ?? '').slice(0, 12),
        name: String(c.Name ?? ''),
        service: String(c.Service ?? ''),
        state: String(c.State ?? ''),
        health: String(c.Health ?? ''),
        exitCode: Number(c.ExitCode ?? 0),
        published: ports.length > 0,
        ports,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The ports a container publishes on the host (PublishedPort 0: exposed inside the network only). */
function publishersOf(publishers: unknown): PublishedPort[] {
  if (!Array.isArray(publishers)) return [];
  return publishers
    .filter((p) => Number(p?.PublishedPort) > 0)
    .map((p) => ({
      address: String(p.URL || '0.0.0.0'),
      published: Number(p.PublishedPort),
      target: Number(p.TargetPort),
    }));
}

/** "running (healthy)", "exited (1)", "running" */
export function describeContainer(c: ContainerState): string {
  if (c.state === 'exited') return `exited (${c.exitCode})`;
  return c.health ? `${c.state} (${c.health})` : c.state;
}

/**
 * The project name that `docker compose up` gives a folder: its name in lower
 * case, without the characters a project name may not have.
 */
export function defaultProjectName(folder: string): string {
  return folder.toLowerCase().replace(/[^a-z0-9_-]/g, '');
}
