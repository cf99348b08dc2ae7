// Hostile requests, as raw bytes on a TCP socket: what fetch would refuse to
// send (invalid UTF-8, no Host, two Content-Length headers, bad chunking) goes
// out exactly as written. Each one must get a 4xx whose body is JSON that says
// what to fix: never a 5xx, never an empty or HTML body, never a hang.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface HostileCase {
  readonly name: string;
  /** The bytes sent, as they are. */
  readonly request: Buffer;
  /** The stage must refuse it: a 2xx would mean the input was stored (and silently changed). */
  readonly mustRefuse: boolean;
  /** A body shorter than its Content-Length: only the server's own deadline ends it (longer wait). */
  readonly holdOpen?: boolean;
}

export interface RawAnswer {
  /** 0: no HTTP answer (closed, reset, or nothing within the deadline). */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly ms: number;
  /** Why there was no answer. */
  readonly reason?: string;
}

function post(path: string, body: Buffer | string, headers: string[] = []): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const head = [
    `POST ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `Content-Length: ${bytes.length}`,
    'Connection: close',
    ...headers,
  ];
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), bytes]);
}

function raw(lines: string[], body = ''): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** Bodies that are JSON, or nearly: the API's validation answers them (stages 03-05). */
export function jsonCases(): HostileCase[] {
  const depth = 5000;
  return [
    {
      name: 'a lone surrogate ("\\udc00x")',
      request: post('/records', '{"a":"\\udc00x"}'),
      mustRefuse: true,
    },
    {
      name: `objects nested ${depth} deep`,
      request: post('/records', `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
      mustRefuse: true,
    },
    {
      name: 'a number that does not fit (1e400)',
      request: post('/records', '{"n":1e400}'),
      mustRefuse: true,
    },
    {
      name: 'invalid UTF-8 (bytes ff fe)',
      request: post(
        '/records',
        Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
      ),
      mustRefuse: true,
    },
  ];
}

/** Requests that Node's HTTP parser refuses before any route sees them: the proxy answers them (04, 05). */
export function parserCases(): HostileCase[] {
  return [
    {
      name: 'no Host header',
      request: raw(['GET /healthz HTTP/1.1', 'Connection: close']),
      mustRefuse: true,
    },
    {
      name: 'a 100 KiB header',
      request: raw([
        'GET /healthz HTTP/1.1',
        'Host: 127.0.0.1',
        `X-Big: ${'a'.repeat(100 * 1024)}`,
        'Connection: close',
      ]),
      mustRefuse: true,
    },
    {
      name: 'two different Content-Length headers',
      request: raw(
        [
          'POST /records HTTP/1.1',
          'Host: 127.0.0.1',
          'Content-Type: application/json',
          'Content-Length: 2',
          'Content-Length: 7',
          'Connection: close',
        ],
        '{}',
      ),
      mustRefuse: true,
    },
    {
      name: 'bad chunking',
      request: raw(
        [
          'POST /records HTTP/1.1',
          'Host: 127.0.0.1',
          'Content-Type: application/json',
          'Transfer-Encoding: chunked',
          'Connection: close',
        ],
        'zz\r\n{}\r\n0\r\n\r\n',
      ),
      mustRefuse: true,
    },
    {
      name: 'Expect: teapot',
      request: post('/records', '{"a":1}', ['Expect: teapot']),
      mustRefuse: true,
    },
    {
      name: 'a body shorter than its Content-Length',
      request: raw(
        [
          'POST /records HTTP/1.1',
          'Host: 127.0.0.1',
          'Content-Type: application/json',
          'Content-Length: 100',
          'Connection: close',
        ],
        '{"a":',
      ),
      mustRefuse: true,
      holdOpen: true,
    },
  ];
}

/** Sends the bytes, reads the answer until the server closes or the deadline passes. */
export function sendRaw(port: number, request: Buffer, options: { timeoutMs: number }) {
  return new Promise<RawAnswer>((resolve) => {
    const t0 = performance.now();
    const chunks: Buffer[] = [];
    let reason: string | undefined;
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      reason = `no end within ${options.timeoutMs / 1000} s`;
      socket.destroy();
    }, options.timeoutMs);
    // No half-close after the request (curl does not either): a server may take the end of the
    // client's stream for a client that gave up. The answer is complete by its length, or the server
    // closes (every request here says Connection: close).
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const answer = parseResponse(Buffer.concat(chunks));
      if (answer?.complete) socket.destroy();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      reason ??= err.code ?? err.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - t0);
      const answer = parseResponse(Buffer.concat(chunks));
      if (answer) resolve({ status: answer.status, headers: answer.headers, body: answer.body, ms });
      else resolve({ status: 0, headers: {}, body: '', ms, reason: reason ?? 'closed without an answer' });
    });
  });
}

/** An HTTP/1.1 response from its bytes; undefined until its head is complete. */
export function parseResponse(
  bytes: Buffer,
): { status: number; headers: Record<string, string>; body: string; complete: boolean } | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = bytes.subarray(end + 4);
  const status = Number(match[1]);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const { body, complete } = unchunk(rest);
    return { status, headers, body: body.toString('utf8'), complete };
  }
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  const body = length === undefined ? rest : rest.subarray(0, length);
  return {
    status,
    headers,
    body: body.toString('utf8'),
    complete: length !== undefined && rest.length >= length,
  };
}

function unchunk(bytes: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) return { body: Buffer.concat(parts), complete: false };
    const size = Number.parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(parts), complete: false };
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/** What is wrong with the answer to a hostile request; undefined when it is a JSON 4xx. */
export function judgeAnswer(hostile: Pick<HostileCase, 'mustRefuse'>, answer: RawAnswer): string | undefined {
  if (answer.status === 0) return `no answer (${answer.reason})`;
  let json = false;
  if (/^application\/json\b/.test(answer.headers['content-type'] ?? '')) {
    try {
      JSON.parse(answer.body);
      json = true;
    } catch {}
  }
  const shown = answer.body.trim().slice(0, 120) || '(empty body)';
  if (answer.status >= 500) return `${answer.status} ${shown}`;
  if (!json)
    return `${answer.status} ${shown}, not JSON (${answer.headers['content-type'] ?? 'no Content-Type'})`;
  if (hostile.mustRefuse && answer.status < 400) return `${answer.status}: accepted ${shown}`;
  return undefined;
}
