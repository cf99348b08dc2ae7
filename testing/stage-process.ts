// Runs a stage's real entry point (src/server.ts and friends) as a child
// process, the way `node src/server.ts` runs it in the container.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository's root: the nearest folder upwards that holds jest.config.js. */
export const repoRoot = findRoot(process.cwd());

function findRoot(from: string): string {
  if (existsSync(join(from, 'jest.config.js')) && existsSync(join(from, 'stages'))) return from;
  const parent = dirname(from);
  if (parent === from) throw new Error('Run the tests from inside the repository.');
  return findRoot(parent);
}

export function stageDir(stage: string): string {
  return join(repoRoot, 'stages', stage);
}

export interface StageProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:PORT, read from the "listening on" line. */
  readonly url: string;
  /** Everything the process printed so far, stdout and stderr together. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process ends. */
  readonly exited: Promise<number | string>;
  /** Sends a signal (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface RunOptions {
  env?: Record<string, string>;
  /** The entry point, relative to the stage folder. */
  script?: string;
  /** The line that means "ready"; its first group, if any, is the port. */
  ready?: RegExp;
  /**
   * Write stdout and stderr straight into this file instead of a pipe to us:
   * for a process under load (benchmarks), whose log we must not pay for.
   */
  logFile?: string;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts a process of the stage and waits until it is ready (or has died). */
export function runStage(stage: string, options: RunOptions = {}): Promise<StageProcess> {
  const { script = 'src/server.ts', ready = /listening on port (\d+)/, logFile } = options;
  const log = logFile === undefined ? undefined : openSync(logFile, 'w');
  const child = spawn(process.execPath, [script], {
    cwd: stageDir(stage),
    env: { ...process.env, PORT: '0', ...options.env },
    stdio: ['ignore', log ?? 'pipe', log ?? 'pipe'],
  });
  if (log !== undefined) closeSync(log); // the child has its own copy
  children.add(child);
  let output = '';
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const process_: Omit<StageProcess, 'url'> = {
    child,
    output: () => (logFile === undefined ? output : readFileSync(logFile, 'utf8')),
    exited,
    stop: (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      clearInterval(poll);
      reject(new Error(`${stage}/${script} was not ready after 15 s. Output:\n${output}`));
    }, 15_000);
    let isReady = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // Once ready, stop looking: matching the whole output again for every
      // chunk costs time that grows with the square of what a chatty process
      // (a proxy that logs each request) has printed.
      if (isReady) return;
      const match = ready.exec(output);
      if (match) {
        isReady = true;
        clearTimeout(timer);
        resolve({ ...process_, url: match[1] ? `http://127.0.0.1:${match[1]}` : '' });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    // Written to a file: read it until the ready line is there.
    const poll =
      logFile === undefined
        ? undefined
        : setInterval(() => {
            output = '';
            onData(readFileSync(logFile));
            if (isReady) clearInterval(poll);
          }, 50);
    exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(
        new Error(`${stage}/${script} exited (${code}) before it was ready. Output:\n${process_.output()}`),
      );
    });
  });
}

/** Runs a stage's script to its end (a one-shot job, or a start that must fail). */
export async function runStageToExit(
  stage: string,
  options: Omit<RunOptions, 'ready'>,
): Promise<{ code: number | string; output: string }> {
  const { script = 'src/server.ts' } = options;
  const child = spawn(process.execPath, [script], {
    cwd: stageDir(stage),
    env: { ...process.env, PORT: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | string>((resolve) =>
    child.once('exit', (c, signal) => resolve(c ?? signal ?? 'unknown')),
  );
  return { code, output };
}
