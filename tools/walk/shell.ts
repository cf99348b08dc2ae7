// One bash for a whole chapter, as one terminal of an attendee: `cd` and
// variables carry over from one command to the next. Each command reads
// /dev/null (nobody types), and its stderr joins its stdout, in order.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Ran {
  readonly output: string;
  readonly status: number;
  readonly ms: number;
}

/** What the bash prints after each command: a byte no program prints, its status and its folder. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: a byte that no program prints
const DONE = /\x1ewalk (\d+) (.*)\n/;

export class Shell {
  private readonly bash: ChildProcess;
  private readonly scripts = mkdtempSync(join(tmpdir(), 'walk-'));
  private buffer = '';
  private count = 0;
  private exited = false;
  /** The folder the shell is in after the last command. */
  cwd: string;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.cwd = cwd;
    this.bash = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.bash.stdout?.setEncoding('utf8');
    this.bash.stdout?.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.wake();
    });
    this.bash.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    this.bash.on('exit', () => {
      this.exited = true;
      this.wake();
    });
    this.bash.stdin?.write('exec 2>&1\n');
  }

  private wake: () => void = () => {};

  async run(command: string, timeoutMs: number): Promise<Ran> {
    const script = join(this.scripts, `${++this.count}.sh`);
    writeFileSync(script, `${command}\n`);
    const started = Date.now();
    this.buffer = '';
    this.bash.stdin?.write(`{ . '${script}'; } </dev/null; printf '\\036walk %s %s\\n' "$?" "$PWD"\n`);
    const done = await new Promise<RegExpExecArray | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.wake = () => {
        const match = DONE.exec(this.buffer);
        if (match || this.exited) {
          clearTimeout(timer);
          resolve(match ?? undefined);
        }
      };
      this.wake();
    });
    const ms = Date.now() - started;
    if (!done) {
      const output = this.buffer;
      this.close();
      const why = this.exited ? 'the shell exited' : `no end after ${timeoutMs / 1000} s`;
      return { output: `${output}\n[walk: ${why}]\n`, status: -1, ms };
    }
    this.cwd = done[2] ?? this.cwd;
    return { output: this.buffer.slice(0, done.index), status: Number(done[1]), ms };
  }

  close(): void {
    if (!this.exited) this.bash.kill('SIGKILL');
    rmSync(this.scripts, { recursive: true, force: true });
  }
}

/**
 * A command left running in the foreground (`docker compose up`) while the
 * attendee goes on in a second terminal. interrupt() is their Ctrl-C: SIGINT
 * to its process group, as a terminal sends it.
 */
export class Background {
  private readonly child: ChildProcess;
  output = '';
  private status: number | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(command: string, cwd: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('bash', ['--noprofile', '--norc', '-c', `exec 2>&1 </dev/null\nexec ${command}`], {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      // Without the terminal's colour and erase-line codes, so that /^web-1/ matches.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts a terminal's codes
      this.output = (this.output + chunk).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      for (const listener of this.listeners) listener();
    });
    this.child.on('exit', (code, signal) => {
      this.status = code ?? (signal ? 128 : -1);
      for (const listener of this.listeners) listener();
    });
  }

  /** Resolves true once the output contains `text` (or matches `/regex/`), false if it exits or the time runs out first. */
  waitFor(text: string, timeoutMs: number): Promise<boolean> {
    return this.until(
      () => (seenAt(this.output, text) >= 0 ? true : this.status !== undefined ? false : undefined),
      timeoutMs,
    );
  }

  /**
   * Ctrl-C, then the exit status once it has stopped (-1 if it does not). The
   * signal goes to the command alone (bash exec'd into it): `docker` passes it
   * on to its compose plugin once, as it does for a terminal's Ctrl-C. Sent to
   * the whole group, the plugin would get it twice and kill the containers.
   */
  async interrupt(timeoutMs: number): Promise<number> {
    if (this.status === undefined && this.child.pid) process.kill(this.child.pid, 'SIGINT');
    const stopped = await this.until(() => (this.status !== undefined ? true : undefined), timeoutMs);
    if (!stopped) this.kill();
    return this.status ?? -1;
  }

  kill(): void {
    if (this.status === undefined && this.child.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {}
    }
  }

  private until(test: () => boolean | undefined, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        const result = test();
        if (result === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(result);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        resolve(false);
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }
}

/** Where `text` (or the regular expression `/.../`) first shows in `output`, -1 if not. */
export function seenAt(output: string, text: string): number {
  const regex = /^\/(.+)\/$/.exec(text);
  return regex ? output.search(new RegExp(regex[1] ?? '', 'm')) : output.indexOf(text);
}
