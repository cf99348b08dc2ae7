// What the board accepts from the network, checked field by field. Anything
// else is a 400 with a message that says what was wrong.
import type { CheckVerdict, Report } from '../lib/board-report.ts';

export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const bad = (message: string) => new HttpError(400, message);

export const NAME_MAX = 32;
const CHECK_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const VERSION = /^[0-9A-Za-z.+-]{1,32}$/;
const VERDICTS = new Set(['passed', 'failed', 'skipped']);
const MAX_CHECKS = 100;
// Control characters, and the ones that reverse the text after them on the page.
const UNPRINTABLE = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('send a JSON object');
  return body as Record<string, unknown>;
}

/** The name an attendee joins with: shown as text, so anything printable of a sane length. */
export function parseName(value: unknown): string {
  if (typeof value !== 'string') throw bad('"name" must be a string');
  const name = value.normalize('NFC').trim();
  if (name.length === 0 || name.length > NAME_MAX) throw bad(`"name" must be 1 to ${NAME_MAX} characters`);
  if (UNPRINTABLE.test(name)) throw bad('"name" must be printable text');
  return name;
}

export function parseJoin(body: unknown): { code: string; name: string } {
  const { code, name } = object(body);
  if (typeof code !== 'string') throw bad('"code" must be the class code, a string');
  return { code, name: parseName(name) };
}

export function parseReport(body: unknown, stages: ReadonlySet<string>): Report {
  const { stage, version, checks } = object(body);
  if (typeof stage !== 'string' || !stages.has(stage)) {
    throw bad(`"stage" must be one of ${[...stages].join(', ')}`);
  }
  if (typeof version !== 'string' || !VERSION.test(version))
    throw bad('"version" must be a version like 1.0.0');
  if (!Array.isArray(checks) || checks.length > MAX_CHECKS) {
    throw bad(`"checks" must be a list of at most ${MAX_CHECKS} checks`);
  }
  return { stage, version, checks: checks.map(parseCheck) };
}

function parseCheck(value: unknown, at: number): CheckVerdict {
  const { id, verdict, ms } = object(value);
  if (typeof id !== 'string' || !CHECK_ID.test(id)) throw bad(`checks[${at}].id must be a check id`);
  if (typeof verdict !== 'string' || !VERDICTS.has(verdict)) {
    throw bad(`checks[${at}].verdict must be passed, failed or skipped`);
  }
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 3_600_000) {
    throw bad(`checks[${at}].ms must be a whole number of milliseconds`);
  }
  return { id, verdict: verdict as CheckVerdict['verdict'], ms };
}
