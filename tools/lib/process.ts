// Other programs (docker, npm, ss...) as child processes, each with a
// deadline, so that a program that does not answer makes a clear message
// instead of a hang. One result shape for every tool.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

export interface CommandResult {
  /** The exit code; null when the command could not start or was killed at its deadline. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why there is no exit code, in words: "docker: not found", "no answer within 10 s". */
  readonly failure?: string;
  /** The same as a code: "ENOENT" (no such program), "ETIMEDOUT" (killed at its deadline). */
  readonly error?: string;
}

export interface CommandOptions {
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** Streams the output to this process's stdout/stderr as well. */
  echo?: boolean;
}

const running = new Set<ChildProcess>();

/** Stops every command still running (a Ctrl-C handler's first step). */
export function killRunningCommands(): void {
  for (const child of running) child.kill('SIGTERM');
}

/** Why a command has no exit code: its error code, and the same in words. */
function failureOf(command: string, code: string | undefined, message: string, timeoutMs: number) {
  if (code === 'ENOENT') return { error: code, failure: `${command}: not found` };
  if (code === 'ETIMEDOUT') return { error: code, failure: `no answer within ${timeoutMs / 1000} s` };
  return { ...(code ? { error: code } : {}), failure: message };
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
    let failed: { error?: string; failure: string } | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (options.echo) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      if (options.echo) process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      failed = failureOf(command, 'ETIMEDOUT', '', timeoutMs);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err: NodeJS.ErrnoException) => {
      failed = failureOf(command, err.code, err.message, timeoutMs);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code: failed ? null : code, stdout, stderr, ...failed });
    });
  });
}

/** The same, waiting: for a tool (the doctor) that asks one thing after another. */
export function runCommandSync(command: string, args: string[], timeoutMs = 15_000): CommandResult {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs, windowsHide: true });
  const err = result.error as NodeJS.ErrnoException | undefined;
  return {
    code: result.status,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
    ...(err ? failureOf(command, err.code, err.message, timeoutMs) : {}),
  };
}

/** The last lines a failed command printed, or why it did not run. */
export function commandError(result: CommandResult): string {
  if (result.failure) return result.failure;
  const lines = (result.stderr.trim() || result.stdout.trim()).split('\n');
  return lines.slice(-5).join('\n') || `exit code ${result.code}`;
}
