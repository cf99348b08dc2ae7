// Forwards each client request to a replica. http-proxy does the HTTP
// plumbing (headers, streaming, X-Forwarded-For); this file adds the load
// balancer's judgement: which replica, what counts as a failure, and when a
// failed request may go to another replica instead of becoming an error.
import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import type { Replica, ReplicaPool } from './balancer.ts';
import type { ProxyConfig } from './config.ts';

export interface Forwarder {
  forward(req: IncomingMessage, res: ServerResponse): void;
  /** Closes the kept-alive connections to the replicas. */
  close(): void;
}

export interface ReplicaEvents {
  /** A replica failed and left the rotation. */
  onDown: (replica: Replica, reason: string) => void;
  /** A replica that was down answered a request and is back in the rotation. */
  onUp: (replica: Replica) => void;
}

// #region retry-rule
// Methods that have the same effect whether they run once or twice (RFC 9110,
// 9.2.2). Once a replica may have started on a request, only these are sent
// to another replica: a POST that created a record before its replica died
// must not create a second one.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

// Errors from before the connection existed: the replica never saw the
// request, so any request, a POST too, can safely go to another replica.
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ECONNECT_TIMEOUT',
]);

function mayRetry(method: string | undefined, err: NodeJS.ErrnoException): boolean {
  return NOT_CONNECTED.has(err.code ?? '') || IDEMPOTENT.has(method ?? '');
}
// #endregion retry-rule

/** One try of a client request on one replica. */
interface Attempt {
  replica: Replica;
  /** 1 for the first try, 2 for the first retry... */
  number: number;
  timedOut: boolean;
}

export function createForwarder(pool: ReplicaPool, config: ProxyConfig, events: ReplicaEvents): Forwarder {
  // Keep-alive: connections to the replicas stay open between requests, so a
  // request does not pay for a new TCP connection each time. A replica closes
  // a connection that was idle for 5 s (its Keep-Alive: timeout=5 header says
  // so), and a request sent on it at that moment fails. The agent closes idle
  // connections a second before the replica would, but only if it has a
  // timeout of its own to shorten: hence `timeout`.
  const agent = new Agent({ keepAlive: true, timeout: 60_000 });
  const proxy = createProxyServer({
    agent,
    // X-Forwarded-For and friends: the replica learns who the client was.
    xfwd: true,
    // Pass the headers on as the replica wrote them (X-Served-By, not x-served-by).
    preserveHeaderKeyCase: true,
    proxyTimeout: config.proxyTimeoutMs,
    connectTimeout: config.connectTimeoutMs,
  });
  // The attempt each client request is on right now.
  const attempts = new WeakMap<IncomingMessage, Attempt>();

  proxy.on('proxyReq', (proxyReq, req) => {
    const attempt = attempts.get(req);
    // On a timeout, http-proxy destroys the request to the replica, and we
    // only get a generic error: remember that it was the timeout.
    proxyReq.once('timeout', () => {
      if (attempt) attempt.timedOut = true;
    });
  });

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const attempt = attempts.get(req);
    const name = proxyRes.headers['x-served-by'];
    if (attempt && pool.succeeded(attempt.replica, typeof name === 'string' ? name : undefined)) {
      events.onUp(attempt.replica);
    }
    // The replica died in the middle of its response: the status line is out
    // already, so the one honest thing left is to cut the client off too,
    // rather than leave it waiting for the rest.
    proxyRes.on('error', (err) => {
      if (res.destroyed) return; // the client hung up first: not the replica's fault
      const reason = `its answer broke off (${err.message})`;
      if (attempt && pool.failed(attempt.replica, reason)) events.onDown(attempt.replica, reason);
      res.destroy();
    });
  });

  // http-proxy throws the errors that it cannot hand to a callback unless
  // someone listens: log them instead.
  proxy.on('error', (err) => console.error(`proxy: ${err.message}`));

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    res.once('close', () => logLine(req, res, attempts.get(req), performance.now() - started));
    // Most requests (GET, DELETE) have no body: nothing to read or hold, off they go.
    if (!hasBody(req)) {
      tryNext(req, res, null, new Set());
      return;
    }
    readBody(req, config.maxBodyBytes).then(
      (body) => {
        if (body === undefined) {
          res.shouldKeepAlive = false; // the rest of the body is not worth reading
          reply(res, 413, { error: `Request body is larger than ${config.maxBodyBytes} bytes` });
          return;
        }
        // The body is here, and Node answered 100-continue: nothing to wait for.
        delete req.headers.expect;
        tryNext(req, res, body, new Set());
      },
      () => res.destroy(), // the client went away while it was sending
    );
  }

  // #region try-next
  /** `body`: the request body we hold, or null for a request without one. */
  function tryNext(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | null,
    tried: Set<Replica>,
  ): void {
    const replica = pool.next(tried);
    if (!replica) {
      noReplicaLeft(res, tried);
      return;
    }
    tried.add(replica);
    const attempt: Attempt = { replica, number: tried.size, timedOut: false };
    attempts.set(req, attempt);

    const target = { host: replica.host, port: replica.port };
    // A fresh stream of the body we hold for every try. Without a body, the
    // first try streams the (empty) request itself; a retry, an empty stream.
    const buffer =
      body === null && attempt.number === 1 ? undefined : Readable.from(body?.length ? [body] : []);
    proxy.web(req, res, { target, buffer }, (err: NodeJS.ErrnoException) => {
      // The client hung up: nobody to answer, and not the replica's fault.
      if (res.destroyed || req.socket.destroyed) return;
      const reason = attempt.timedOut ? `no answer within ${config.proxyTimeoutMs} ms` : err.message;
      if (pool.failed(replica, reason)) events.onDown(replica, reason);

      if (res.headersSent) {
        res.destroy();
      } else if (attempt.timedOut) {
        // Not retried: the time the client was promised is used up, and a
        // slow request sent to every replica in turn would slow down them all.
        reply(res, 504, {
          error: `Replica ${label(replica)} did not answer within ${config.proxyTimeoutMs} ms`,
          replica: label(replica),
        });
      } else if (mayRetry(req.method, err)) {
        tryNext(req, res, body, tried);
      } else {
        reply(res, 502, { error: `Replica ${label(replica)} failed: ${reason}`, replica: label(replica) });
      }
    });
  }

  // #endregion try-next

  function noReplicaLeft(res: ServerResponse, tried: Set<Replica>): void {
    const last = [...tried].at(-1);
    if (last) {
      const error = `No replica of ${config.upstreamHost} could take the request (${tried.size} tried)`;
      reply(res, 502, { error, replica: label(last) });
      return;
    }
    reply(res, 503, {
      error: `No replica of ${config.upstreamHost} is running; try again in a moment`,
      dependency: config.upstreamHost,
    });
  }

  return {
    forward,
    close: () => {
      flushLog();
      agent.destroy();
    },
  };
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

/** Whether a body follows the request's headers (RFC 9112, 6.3). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** One line per request: what, how it ended, which replica, how long, which try. */
function logLine(req: IncomingMessage, res: ServerResponse, attempt: Attempt | undefined, ms: number): void {
  const status = res.writableFinished ? res.statusCode : 'aborted';
  const replica = attempt ? `${attempt.replica.name ?? '?'} ${attempt.replica.address}` : '- -';
  const tries = attempt && attempt.number > 1 ? ` (try ${attempt.number})` : '';
  // Written once per turn of the event loop, all lines together: under load
  // that is one write to stdout for dozens of requests instead of one each.
  if (logLines.length === 0) setImmediate(flushLog);
  logLines.push(`${req.method} ${req.url} ${status} ${replica} ${Math.round(ms)}ms${tries}\n`);
}

let logLines: string[] = [];
function flushLog(): void {
  if (logLines.length === 0) return;
  process.stdout.write(logLines.join(''));
  logLines = [];
}

/** A replica as a client sees it: its name once known, else its address. */
export function label(replica: Replica): string {
  return replica.name ?? replica.address;
}

/** A JSON answer of the proxy's own (errors, GET /__lb); `indent` makes it easier on the eyes. */
export function reply(res: ServerResponse, status: number, body: object, indent = 0): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(`${JSON.stringify(body, null, indent)}\n`);
}
