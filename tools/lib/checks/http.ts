// HTTP against a running stage, as a browser or curl on the attendee's machine
// sees it. Every request has a deadline: a stage that hangs fails a check, it
// never hangs the tool.
import { fail, skip } from './assert.ts';
import type { CheckContext } from './types.ts';

export const REQUEST_TIMEOUT_MS = 5_000;

export interface HttpResponse {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body when the response says it is JSON and it parses; undefined otherwise. */
  readonly json: unknown;
}

export interface RequestOptions {
  body?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface Http {
  request(method: string, path: string, options?: RequestOptions): Promise<HttpResponse>;
  get(path: string, options?: RequestOptions): Promise<HttpResponse>;
  /** POST of a JSON value (Content-Type: application/json). */
  postJson(path: string, value: unknown): Promise<HttpResponse>;
}

/** No HTTP answer at all: refused, reset, unknown host, or the deadline passed. */
export class NoAnswer extends Error {
  readonly reason: string;

  constructor(what: string, reason: string) {
    super(`${what}: no answer (${reason})`);
    this.reason = reason;
  }
}

export function createHttp(baseUrl: string): Http {
  const request = async (method: string, path: string, options: RequestOptions = {}) => {
    const what = `${method} ${path}`;
    const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    let res: Response;
    let text: string;
    try {
      // The deadline covers the body too: a response that starts and then stalls is no answer either.
      const signal = AbortSignal.timeout(timeoutMs);
      res = await fetch(baseUrl + path, { method, body: options.body, headers: options.headers, signal });
      text = await res.text();
    } catch (err) {
      throw new NoAnswer(what, networkReason(err, timeoutMs));
    }
    return { method, path, status: res.status, headers: res.headers, text, json: parseJson(res, text) };
  };
  return {
    request,
    get: (path, options) => request('GET', path, options),
    postJson: (path, value) =>
      request('POST', path, {
        body: JSON.stringify(value),
        headers: { 'content-type': 'application/json' },
      }),
  };
}

function parseJson(res: Response, text: string): unknown {
  if (!/^application\/json\b/.test(res.headers.get('content-type') ?? '')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A short reason for a failed fetch: ECONNREFUSED, ENOTFOUND, "no answer within 5 s"... */
export function networkReason(err: unknown, timeoutMs = REQUEST_TIMEOUT_MS): string {
  const name = (err as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  // fetch wraps the socket's error in `cause`; with two addresses (::1 and
  // 127.0.0.1) it is an AggregateError whose errors carry the codes.
  const cause = (err as { cause?: { code?: string; errors?: { code?: string }[]; message?: string } })?.cause;
  const code = cause?.code ?? cause?.errors?.find((e) => e.code)?.code;
  return code ?? cause?.message ?? (err as Error)?.message ?? String(err);
}

/** True when the reason says that no process listens there at all. */
export function isRefused(reason: string): boolean {
  return reason === 'ECONNREFUSED';
}

/**
 * The URL of another port that the stage publishes on 127.0.0.1 only (the
 * dashboard): `variable` as compose got it, else compose's default. Skips the
 * check when the stage answers on another machine (or the check runs in a
 * container): 127.0.0.1 over there is out of reach from here, on purpose.
 */
export function loopbackUrl(
  ctx: Pick<CheckContext, 'url' | 'env'>,
  variable: string,
  fallback: number,
): string {
  const raw = ctx.env[variable]?.trim();
  const port = raw ? Number(raw) : fallback;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`${variable} must be a port number from 1 to 65535, got "${raw}"`);
  }
  const host = new URL(ctx.url).hostname;
  if (!['localhost', '127.0.0.1', '[::1]'].includes(host)) {
    skip(
      `the port of ${variable} is published on 127.0.0.1 of the machine that runs the stage, not on ${host}`,
    );
  }
  return `http://127.0.0.1:${port}`;
}
