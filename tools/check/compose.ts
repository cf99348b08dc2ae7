// `docker compose` and `docker` as child processes, each with a deadline, so
// that an engine that does not answer makes a clear message instead of a hang.
import { type ChildProcess, spawn } from 'node:child_process';

export interface CommandResult {
  /** The exit code; null when the command could not start or was killed at its deadline. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why there is no exit code: "docker: not found", "no answer within 10 s". */
  readonly failure?: string;
}

export interface CommandOptions {
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** Streams the output to this process's stdout/stderr as well. */
  echo?: boolean;
}

const running = new Set<ChildProcess>();

/** Stops every command still running (verify's Ctrl-C handler). */
export function killRunningCommands(): void {
  for (const child of running) child.kill('SIGTERM');
}

export function runCommand(command: string, args: string[], options: CommandOptions = {}) {
  const { timeoutMs = 10_000 } = options;
  return new Promise<CommandResult>((resolve) => {
    // Detached: a Ctrl-C in the terminal reaches this process only, and this
    // process decides what happens to the command (verify still tears down).
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let failure: string | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (options.echo) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      if (options.echo) process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      failure = `no answer within ${timeoutMs / 1000} s`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err: NodeJS.ErrnoException) => {
      failure = err.code === 'ENOENT' ? `${command}: not found` : err.message;
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code: failure ? null : code, stdout, stderr, failure });
    });
  });
}

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

/** The last lines a failed command printed, or why it did not run. */
export function commandError(result: CommandResult): string {
  if (result.failure) return result.failure;
  const lines = (result.stderr.trim() || result.stdout.trim()).split('\n');
  return lines.slice(-5).join('\n') || `exit code ${result.code}`;
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
