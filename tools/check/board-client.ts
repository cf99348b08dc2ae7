// The check's side of the board: joins once with the class code, keeps the
// token it gets (so the name stays this attendee's), and sends reports.
// Nothing but what a Report holds leaves the machine.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Report } from '../lib/board-report.ts';

const REQUEST_TIMEOUT_MS = 5_000;

/** The board refused, or did not answer: the message says what to do. */
export class BoardError extends Error {}

export interface BoardClientOptions {
  /** The board, e.g. http://192.168.1.20:4000 (no trailing slash). */
  readonly url: string;
  readonly name: string;
  /** The class code; needed the first time only. */
  readonly code?: string;
  /** Where the tokens are kept (tokenFile(env) by default). */
  readonly tokenFile: string;
}

/** ~/.config/compose-workshop/board-tokens.json (or under $XDG_CONFIG_HOME). */
export function tokenFile(env: NodeJS.ProcessEnv): string {
  const config = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(config, 'compose-workshop', 'board-tokens.json');
}

interface Saved {
  token: string;
  code: string;
}

export function createBoardClient(options: BoardClientOptions) {
  const key = `${options.url} ${options.name}`;
  const readAll = (): Record<string, Saved> => {
    try {
      return JSON.parse(readFileSync(options.tokenFile, 'utf8'));
    } catch {
      return {};
    }
  };
  const save = (saved: Saved) => {
    mkdirSync(dirname(options.tokenFile), { recursive: true });
    writeFileSync(options.tokenFile, `${JSON.stringify({ ...readAll(), [key]: saved }, null, 2)}\n`);
    chmodSync(options.tokenFile, 0o600);
  };

  /** Joins the board; `proof` is an earlier token of this name (the board then gives it a new one). */
  async function join(code: string | undefined, proof?: string): Promise<string> {
    if (!code) {
      throw new BoardError(`First report to ${options.url}: add --code with the class code the board shows.`);
    }
    const body = await call('/api/join', { code, name: options.name }, proof);
    const token = (body as { token: string }).token;
    save({ token, code });
    return token;
  }

  async function call(path: string, value: unknown, token?: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(options.url + path, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(value),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new BoardError(`The board at ${options.url} does not answer (${reason}). Is the address right?`);
    }
    const body = await res.json().catch(() => ({}));
    if (res.ok) return body;
    const error = (body as { error?: string }).error ?? `HTTP ${res.status}`;
    throw Object.assign(new BoardError(`The board refused: ${error}`), { status: res.status });
  }

  return {
    /** Sends a report; joins first when there is no token, and again when the board refuses it. */
    async report(report: Report): Promise<void> {
      const saved = readAll()[key];
      const code = options.code ?? saved?.code;
      let token = saved && (!options.code || options.code === saved.code) ? saved.token : undefined;
      token ??= await join(code);
      try {
        await call('/api/reports', report, token);
      } catch (err) {
        // Expired, or a new board on the same address: join again, then send once more.
        if ((err as { status?: number }).status !== 401) throw err;
        await call('/api/reports', report, await join(code, token));
      }
    },
  };
}
