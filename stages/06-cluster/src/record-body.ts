import express, { type RequestHandler } from 'express';
import type { JsonObject } from './db.ts';
import { HttpError } from './errors.ts';

// The body of POST /records is read as bytes and checked here, not by
// express.json(), so that each kind of bad body gets its own status code and
// a message that says what to fix. JSON allows more than Postgres and
// JavaScript can keep, and a record is refused rather than stored changed:
//
// - bytes that are not UTF-8 (JSON text is UTF-8; a lenient decoder would
//   store U+FFFD in their place),
// - a "lone surrogate" like \udc00 (half of a UTF-16 pair: not a character,
//   and Postgres refuses it),
// - \u0000 (Postgres cannot store it in text),
// - numbers that a JavaScript number cannot hold: 1e400 would become
//   Infinity (stored as null), 9007199254740993 would become ...992,
// - nesting deeper than MAX_DEPTH (deep enough for any record, and it keeps
//   the code that walks a record, ours and Sequelize's, far from the stack's end).

/** How deep objects and arrays may sit inside each other in a record. */
export const MAX_DEPTH = 32;

/** A 415 unless the body is JSON, in UTF-8 (the only encoding JSON has). */
export const requireJson: RequestHandler = (req, _res, next) => {
  const type = req.get('content-type');
  const [mediaType, ...parameters] = (type ?? '').split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json') {
    throw new HttpError(
      415,
      `Send the record as JSON with the header Content-Type: application/json (got ${type ? `"${type}"` : 'none'})`,
    );
  }
  const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length);
  if (charset !== undefined && !['utf-8', 'utf8'].includes(charset.replaceAll('"', ''))) {
    throw new HttpError(415, `Send the record as UTF-8, the encoding of JSON (got charset=${charset})`);
  }
  next();
};

/** Reads the body as bytes, at most `limit` of them (BODY_LIMIT). */
export function readBody(limit: string): RequestHandler {
  const readBytes = express.raw({ type: 'application/json', limit });
  return (req, res, next) => {
    readBytes(req, res, (err?: unknown) => {
      if ((err as { type?: string } | undefined)?.type === 'entity.too.large') {
        next(new HttpError(413, `The body is larger than ${limit} (BODY_LIMIT); send a smaller record`));
      } else {
        next(err);
      }
    });
  };
}

/** The record in the body that readBody() read, or a 400/422 that says what is wrong with it. */
export function parseRecord(body: unknown): JsonObject {
  const text = decodeUtf8(Buffer.isBuffer(body) ? body : Buffer.alloc(0));
  if (text.trim() === '')
    throw new HttpError(400, 'The body is empty; send a JSON object like {"title": "Test"}');
  checkDepth(text);
  let value: unknown;
  try {
    value = JSON.parse(text, checkValue);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `The body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(422, `A record must be a JSON object like {"title": "Test"}, not ${kindOf(value)}`);
  }
  return value as JsonObject;
}

function decodeUtf8(bytes: Buffer): string {
  try {
    // fatal: an invalid byte is an error, not a silent U+FFFD.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, 'The body is not valid UTF-8; send the record as UTF-8 text, as JSON requires');
  }
}

/**
 * Counts how deep `[` and `{` nest, outside strings, in one pass over the
 * text, before anything parses it: a loop, not a recursion, so that 20,000
 * levels cost a loop of 40,000 steps and not a stack overflow.
 */
function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\')
        i++; // the escaped character, even \" , does not end the string
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === '{' || char === '[') {
      if (++depth > MAX_DEPTH) {
        throw new HttpError(
          422,
          `A record may nest objects and arrays at most ${MAX_DEPTH} deep; this one goes deeper (at character ${i + 1}), flatten it`,
        );
      }
    } else if (char === '}' || char === ']') {
      depth--;
    }
  }
}

/**
 * JSON.parse calls this for every key and value, from the innermost out.
 * `context.source` is the number as written in the body, before JavaScript
 * rounded it.
 */
function checkValue(key: string, value: unknown, context?: { source?: string }): unknown {
  // JSON.stringify shows a key as it would be written in JSON, \u0000 and all.
  const where = key === '' ? 'the record' : JSON.stringify(key);
  checkString(key, `the key ${where}`);
  if (typeof value === 'string') checkString(value, `the string in ${where}`);
  if (typeof value === 'number') {
    const source = context?.source ?? String(value);
    if (!Number.isFinite(value)) {
      throw new HttpError(
        422,
        `The number ${source} in ${where} is too large for a JavaScript number; send it as a string, like "${source}"`,
      );
    }
    if (!/[.eE]/.test(source) && !Number.isSafeInteger(value)) {
      throw new HttpError(
        422,
        `The whole number ${source} in ${where} is beyond ±${Number.MAX_SAFE_INTEGER}, where JavaScript rounds it; send it as a string, like "${source}"`,
      );
    }
    if (value === 0 && /[1-9]/.test(source.split(/[eE]/)[0])) {
      throw new HttpError(
        422,
        `The number ${source} in ${where} is too small for a JavaScript number (it would become 0); send it as a string, like "${source}"`,
      );
    }
  }
  return value;
}

function checkString(text: string, what: string): void {
  if (text.includes('\u0000')) {
    throw new HttpError(
      422,
      `A record cannot contain the character \\u0000 (Postgres does not store it); remove it from ${what}`,
    );
  }
  // With the u flag, a complete pair is one character and does not match.
  const lone = /[\uD800-\uDFFF]/u.exec(text);
  if (lone) {
    const code = lone[0].charCodeAt(0).toString(16);
    throw new HttpError(
      422,
      `A record cannot contain a lone surrogate like \\u${code} (half of a UTF-16 pair, not a character; Postgres does not store it); send the complete pair or remove it from ${what}`,
    );
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
