// Forwards each client request to a replica. http-proxy does the HTTP
// plumbing (headers, streaming, X-Forwarded-For); this file adds the load
// balancer's judgement: which replica, what counts as a failure, and what
// the client gets when one fails. When a failed request may go to another
// replica, and how its body is kept for that, is in proxy-retry.ts.
import { Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import { noReplica, replicaFailed, replicaTimedOut } from './proxy-answers.ts';
import type { ProxyConfig } from './proxy-config.ts';
import type { Replica, ReplicaPool } from './proxy-replicas.ts';
import { holdBody, mayRetry, replay } from './proxy-retry.ts';

/** For the log: a replica failed and left the rotation; one that was down answered. */
export type ReplicaEvents = { onDown(replica: Replica, reason: string): void; onUp(replica: Replica): void };

/** A client request on its way: its body, held, and the replicas tried so far. */
type Exchange = { req: IncomingMessage; res: ServerResponse; body: Buffer; tried: Set<Replica> };

/** One try on one replica (`number` 1 is the first); `proxyReq`: the request http-proxy sent it. */
type Attempt = { replica: Replica; number: number; timedOut: boolean; proxyReq?: ClientRequest };

export class Forwarder {
  readonly #pool: ReplicaPool;
  readonly #config: ProxyConfig;
  readonly #events: ReplicaEvents;
  readonly #proxy: ProxyServer<typeof IncomingMessage, typeof ServerResponse, NodeJS.ErrnoException>;
  readonly #attempts = new WeakMap<IncomingMessage, Attempt>(); // the try each request is on

  constructor(pool: ReplicaPool, config: ProxyConfig, events: ReplicaEvents) {
    this.#pool = pool;
    this.#config = config;
    this.#events = events;
    this.#proxy = createProxyServer({
      // Keep-alive: connections to the replicas stay open between requests. A
      // replica closes one that was idle for 5 s (Keep-Alive: timeout=5); the
      // agent closes it a second earlier (so that no request goes out on it as
      // it closes), but only if it has a timeout of its own to shorten.
      agent: new Agent({ keepAlive: true, timeout: 60_000 }),
      xfwd: true, // X-Forwarded-For and friends: the replica learns who the client was
      preserveHeaderKeyCase: true, // X-Served-By as the replica wrote it, not x-served-by
      proxyTimeout: config.proxyTimeoutMs,
      connectTimeout: config.connectTimeoutMs,
    });
    this.#proxy.on('proxyReq', (proxyReq, req) => {
      const attempt = this.#attempts.get(req) as Attempt;
      attempt.proxyReq = proxyReq;
      // On a timeout, http-proxy destroys the request, and we get a generic error.
      proxyReq.once('timeout', () => {
        attempt.timedOut = true;
      });
    });
    this.#proxy.on('proxyRes', (proxyRes, req, res) =>
      this.#answered(proxyRes, res, this.#attempts.get(req)),
    );
    // http-proxy throws the errors it cannot hand to a callback, unless someone listens.
    this.#proxy.on('error', (err) => console.error(`proxy: ${err.message}`));
  }

  async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    res.once('close', () => logLine(req, res, this.#attempts.get(req), performance.now() - started));
    const body = await holdBody(req, res, this.#config.maxBodyBytes);
    if (body) this.#tryNext({ req, res, body, tried: new Set() });
  }

  #tryNext(exchange: Exchange) {
    const { req, res, body, tried } = exchange;
    const replica = this.#pool.next(tried);
    if (!replica) return noReplica(res, this.#config.upstreamHost, tried.size);
    tried.add(replica);
    const attempt: Attempt = { replica, number: tried.size, timedOut: false };
    this.#attempts.set(req, attempt);
    const options = { target: { host: replica.host, port: replica.port }, buffer: replay(body) };
    this.#proxy.web(req, res, options, (err: NodeJS.ErrnoException) => this.#failed(exchange, attempt, err));
  }

  #failed(exchange: Exchange, attempt: Attempt, err: NodeJS.ErrnoException): void {
    const { req, res } = exchange;
    if (res.destroyed || req.socket.destroyed) return; // the client hung up: nobody to answer
    const { replica } = attempt;
    const timeout = this.#config.proxyTimeoutMs;
    this.#down(replica, attempt.timedOut ? `no answer within ${timeout} ms` : err.message);
    if (res.headersSent) {
      res.destroy();
    } else if (attempt.timedOut) {
      // Not retried: the time the client was promised is used up, and a slow
      // request sent to every replica in turn would slow them all down.
      replicaTimedOut(res, replica, timeout);
    } else if (mayRetry(req.method, err, attempt.proxyReq?.reusedSocket === true)) {
      this.#tryNext(exchange);
    } else {
      replicaFailed(res, replica, err.message);
    }
  }

  #answered(proxyRes: IncomingMessage, res: ServerResponse, attempt: Attempt | undefined): void {
    const name = proxyRes.headers['x-served-by'];
    if (attempt && this.#pool.succeeded(attempt.replica, typeof name === 'string' ? name : undefined)) {
      this.#events.onUp(attempt.replica);
    }
    // The replica died in the middle of its answer: the status line is out,
    // so the one honest thing left is to cut the client off too.
    proxyRes.on('error', (err) => {
      if (res.destroyed) return; // the client hung up first: not the replica's fault
      if (attempt) this.#down(attempt.replica, `its answer broke off (${err.message})`);
      res.destroy();
    });
  }

  #down(replica: Replica, reason: string): void {
    if (this.#pool.failed(replica, reason)) this.#events.onDown(replica, reason);
  }
}

/** One line per request: what, how it ended, which replica, how long, which try. */
function logLine(req: IncomingMessage, res: ServerResponse, attempt: Attempt | undefined, ms: number): void {
  const status = res.writableFinished ? res.statusCode : 'aborted';
  const replica = attempt ? `${attempt.replica.name ?? '?'} ${attempt.replica.address}` : '- -';
  const tries = attempt && attempt.number > 1 ? ` (try ${attempt.number})` : '';
  console.log(`${req.method} ${req.url} ${status} ${replica} ${Math.round(ms)}ms${tries}`);
}
