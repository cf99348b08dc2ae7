// Small assertions for checks. A failure says what was seen, in the words an
// attendee would use with curl: "GET /healthz answered 503 {...}, expected 200".
import { isDeepStrictEqual } from 'node:util';
import type { HttpResponse } from './http.ts';

/** A check saw something other than what the stage's contract promises. */
export class CheckFailed extends Error {}

export function fail(message: string): never {
  throw new CheckFailed(message);
}

/** A check that cannot look from where it runs (a port bound to 127.0.0.1 of another machine). */
export class CheckSkipped extends Error {}

export function skip(reason: string): never {
  throw new CheckSkipped(reason);
}

/** "503 {"error":"Redis is unavailable..."}" with the body cut to a readable length. */
export function describe(res: HttpResponse): string {
  const body = res.text.trim().replace(/\s+/g, ' ');
  const shown = body.length > 160 ? `${body.slice(0, 160)}...` : body;
  return `${res.status}${shown ? ` ${shown}` : ' (empty body)'}`;
}

export function expectStatus(res: HttpResponse, status: number): void {
  if (res.status !== status) {
    fail(`${res.method} ${res.path} answered ${describe(res)}, expected ${status}`);
  }
}

/** The JSON object of the body; fails when the body is not JSON or not an object. */
export function expectJsonObject(res: HttpResponse): Record<string, unknown> {
  const type = res.headers.get('content-type') ?? 'no Content-Type';
  if (res.json === undefined) {
    fail(`${res.method} ${res.path} answered ${describe(res)} as ${type}, expected JSON`);
  }
  if (typeof res.json !== 'object' || res.json === null || Array.isArray(res.json)) {
    fail(`${res.method} ${res.path} answered ${describe(res)}, expected a JSON object`);
  }
  return res.json as Record<string, unknown>;
}

/** A JSON error answer of the contract: the status and `{"error": "<non-empty text>"}`. */
export function expectJsonError(res: HttpResponse, status: number): string {
  expectStatus(res, status);
  const body = expectJsonObject(res);
  if (typeof body.error !== 'string' || body.error.trim() === '') {
    fail(`${res.method} ${res.path} answered ${describe(res)}, expected {"error": "<what to fix>"}`);
  }
  return body.error;
}

export function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    fail(`${what} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}
