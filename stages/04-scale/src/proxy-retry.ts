// Going further: what makes a second try possible, and when it is allowed.
// proxy-forward.ts reads each request body whole before the first try (holdBody)
// and gives every replica it tries a fresh copy of it (replay); after a
// failure it asks mayRetry() whether another replica may have the request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { reply } from './proxy-answers.ts';

// Methods that have the same effect whether they run once or twice (RFC 9110,
// 9.2.2). Once a replica may have started on a request, only these are sent
// to another replica: a POST that created a record before its replica died
// must not create a second one.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

// Errors from before the connection existed (or from making it: `connect
// ECONNRESET`, a replica that closed its listener as we knocked): the replica
// never saw the request, so any request, a POST too, can go to another one.
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ECONNECT_TIMEOUT',
]);

// A kept-alive connection that the replica closed while our request was on
// its way: reset (ECONNRESET, also "socket hang up") or closed for writing
// (EPIPE), with no answer at all. A replica closes an idle connection (its
// keep-alive timeout, its shutdown) only between two requests, so on a
// reused connection this means our request came too late to be read. (A
// replica that crashes while it works on a request on such a connection looks
// the same, and its POST may then run twice: rare, and the price of never
// failing a request because a connection closed under it.)
const CLOSED_BEFORE_READ = new Set(['ECONNRESET', 'EPIPE']);

/**
 * May a request that failed on one replica go to another? `reusedSocket`:
 * it went out on a kept-alive connection (Node's `request.reusedSocket`).
 * Only asked when no byte of an answer came back.
 */
export function mayRetry(method: string | undefined, err: NodeJS.ErrnoException, reusedSocket: boolean) {
  const code = err.code ?? '';
  if (NOT_CONNECTED.has(code) || err.syscall === 'connect') return true;
  if (reusedSocket && CLOSED_BEFORE_READ.has(code)) return true;
  return IDEMPOTENT.has(method ?? '');
}

/**
 * The request's body, held for every try; undefined when there is nothing
 * to forward: the body is too large (the client got a 413) or the client
 * went away while it was sending.
 */
export async function holdBody(req: IncomingMessage, res: ServerResponse, limit: number) {
  const body = await readBody(req, limit).catch(() => null);
  if (body === null) {
    res.destroy();
  } else if (body === undefined) {
    res.shouldKeepAlive = false; // the rest of the body is not worth reading
    reply(res, 413, { error: `Request body is larger than ${limit} bytes` });
  } else {
    delete req.headers.expect; // the body is here (Node sent 100 Continue): nothing to wait for
    return body;
  }
  return undefined;
}

/**
 * The whole request body, or undefined once it passes `limit` bytes. Like
 * nginx, the proxy reads the body before it picks a replica: a body it holds
 * can be sent again to another replica, a body streamed through cannot.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData); // the rest flows on, unread
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('the client went away'));
    });
  });
}

/** A fresh stream of a held body, for one try (the request's own stream is read already). */
export function replay(body: Buffer): Readable {
  return Readable.from(body.length > 0 ? [body] : []);
}
