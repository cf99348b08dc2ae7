// The board as its tests and its load run use it: `npm run board`'s own entry
// point in a child process, on a free port, with its SQLite file in a folder
// of its own; and HTTP requests that can come from any loopback address
// (127.0.0.2, 127.0.0.3...), as from the different laptops of a room.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './root.ts';

export interface BoardProcess {
  readonly url: string;
  readonly code: string;
  readonly dbFile: string;
  /** Stops the board (SIGTERM) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same file. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

const READY = /Class board on http:\/\/[\d.]+:(\d+), class code (\w+)/;

export async function startBoard(): Promise<BoardProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'workshop-board-'));
  const dbFile = join(dir, 'board.sqlite');
  let child: ChildProcess | undefined;
  let port = 0;
  let code = '';
  const start = async () => {
    const env = { ...process.env, HOST: '127.0.0.1', PORT: String(port), BOARD_DB: dbFile };
    const started = spawn(process.execPath, [join(repoRoot, 'tools', 'board', 'cli.ts')], { env });
    child = started;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      started.stdout?.on('data', (chunk) => {
        output += chunk;
        const ready = READY.exec(output);
        if (ready) {
          port = Number(ready[1]);
          code = ready[2] ?? '';
          resolve();
        }
      });
      started.stderr?.on('data', (chunk) => (output += chunk));
      started.once('exit', (status) => reject(new Error(`the board exited (${status}):\n${output}`)));
    });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get code() {
      return code;
    },
    dbFile,
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The parsed body when it is JSON; the tests read the fields they expect. */
  // biome-ignore lint/suspicious/noExplicitAny: a test asserts the shape itself
  readonly json: any;
}

export interface CallOptions {
  readonly method?: string;
  /** A string is sent as it is; anything else as JSON. */
  readonly body?: unknown;
  readonly token?: string;
  readonly headers?: Record<string, string>;
  /** The loopback address the request comes from (127.0.0.1 by default). */
  readonly from?: string;
}

/** One HTTP request to the board, as one client of the room sends it. */
export function call(url: string, options: CallOptions = {}): Promise<Answer> {
  const { body, token, from = '127.0.0.1' } = options;
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: options.method ?? (payload ? 'POST' : 'GET'),
      headers,
      localAddress: from,
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.once('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.end(payload);
  });
}

/** Joins `name` with the board's class code; the token. */
export async function joinBoard(board: BoardProcess, name: string, from?: string): Promise<string> {
  const answer = await call(`${board.url}/api/join`, { body: { code: board.code, name }, from });
  if (answer.status !== 201) throw new Error(`join ${name}: ${answer.status} ${answer.text}`);
  return answer.json.token;
}
