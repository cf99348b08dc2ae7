// The proxy's own answers, always JSON like the app's: its errors, GET /__lb,
// and the answers to requests that never reach proxy-forward.ts. Node's HTTP parser
// refuses a request that breaks the rules (a header too large, two different
// Content-Length headers, a broken chunk, a request that does not arrive in
// time) before there is a request object; by default Node then writes a
// status line with no body.
import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ProxyConfig } from './proxy-config.ts';
import type { Replica } from './proxy-replicas.ts';

/** A JSON answer of the proxy's own; `indent` makes it easier on the eyes. */
export function reply(res: ServerResponse, status: number, body: object, indent = 0): void {
  if (res.headersSent || res.destroyed) return;
  const text = `${JSON.stringify(body, null, indent)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** 503: no replica to send the request to (none is running, or each one tried failed). */
export function noReplica(res: ServerResponse, service: string, tried: number): void {
  const why = tried > 0 ? `could take the request (${tried} tried)` : 'is running';
  reply(res, 503, { error: `No replica of ${service} ${why}; try again in a moment`, dependency: service });
}

/** 504: the replica said nothing for PROXY_TIMEOUT_MS. */
export function replicaTimedOut(res: ServerResponse, replica: Replica, ms: number): void {
  reply(res, 504, {
    error: `Replica ${label(replica)} did not answer within ${ms} ms`,
    replica: label(replica),
  });
}

/** 502: the replica failed, and the request may not go to another one. */
export function replicaFailed(res: ServerResponse, replica: Replica, reason: string): void {
  reply(res, 502, { error: `Replica ${label(replica)} failed: ${reason}`, replica: label(replica) });
}

/** A replica as a client sees it: its name once known, else its address. */
function label(replica: Replica): string {
  return replica.name ?? replica.address;
}

/** Answers, in JSON, the requests that Node's parser refuses on `server`. */
export function answerClientErrors(server: Server, config: ProxyConfig): void {
  server.on('clientError', (err: ParserError, socket: Socket) => {
    // The client is gone, or the socket is closing: nobody to answer.
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const [status, error] = describe(err, config);
    const body = `${JSON.stringify({ error, code: err.code })}\n`;
    // No request object, so no response object either: the answer goes
    // straight onto the connection, which then closes.
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  // `Expect: 100-continue` is answered by Node itself; any other expectation
  // comes here (by default: a 417 with no body).
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    res.shouldKeepAlive = false; // the body that may follow is not worth reading
    reply(res, 417, { error: `Expect: ${req.headers.expect} is not supported; only 100-continue is` });
  });
}

type ParserError = NodeJS.ErrnoException & { reason?: string };

/** The status and message for a parser error, with the status codes that Node uses for them. */
function describe(err: ParserError, config: ProxyConfig): [number, string] {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT': {
      const limits = `headers within ${config.headersTimeoutMs} ms, all of it within ${config.requestTimeoutMs} ms`;
      return [408, `The request did not arrive in time (${limits})`];
    }
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'The request headers are too large (more than 16 KiB together)'];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'The chunk extensions of the request body are too large'];
    default:
      return [400, `The request is not valid HTTP: ${err.reason ?? err.message}`];
  }
}

/**
 * HTTP/1.1 requires a Host header (RFC 9112, 3.2). Node checks that too, but
 * answers with no body, so the proxy's server leaves it to this. True if it answered.
 */
export function refusedWithoutHost(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.httpVersion !== '1.1' || req.headers.host !== undefined) return false;
  res.shouldKeepAlive = false;
  reply(res, 400, { error: 'The request has no Host header; HTTP/1.1 requires one' });
  return true;
}
