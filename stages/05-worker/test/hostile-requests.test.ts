import { connect } from 'node:net';
import type { StageProcess } from '../../../testing/stage-process.ts';
import { Cluster } from './cluster.ts';

// Requests that Node's HTTP parser refuses, and clients that never finish:
// the proxy answers each with a JSON body that says what is wrong.
let cluster: Cluster;
let proxy: StageProcess;

beforeAll(async () => {
  cluster = await Cluster.start();
  await cluster.startReplica('replica-2');
  // Short limits for slow clients, so that the test need not wait 10 and 30 s.
  proxy = await cluster.startProxy({ HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' });
});
afterAll(() => cluster?.stop());

interface RawAnswer {
  status: number;
  headers: string;
  body: unknown;
}

/** Sends `text` as it is on a new connection; resolves with the answer once the proxy closes it. */
function send(text: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(proxy.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    socket.on('error', () => {}); // a reset after the answer: the answer is what counts
    socket.on('close', () => {
      const [head = '', body = ''] = received.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      try {
        resolve({ status, headers: head, body: JSON.parse(body) });
      } catch {
        reject(new Error(`not a JSON answer: ${JSON.stringify(received)}`));
      }
    });
    socket.setTimeout(10_000, () => socket.destroy());
    socket.write(text);
  });
}

describe('stage 05: the proxy answers hostile requests in JSON', () => {
  test.each([
    ['no Host header', 'GET / HTTP/1.1\r\n\r\n', 400, /no Host header/],
    [
      'a 100 KiB header',
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`,
      431,
      /too large/,
    ],
    [
      'two different Content-Length headers',
      'POST /records HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
      400,
      /not valid HTTP/,
    ],
    [
      'bad chunking',
      'POST /records HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      400,
      /not valid HTTP: Invalid character in chunk size/,
    ],
    [
      'Expect: teapot',
      'POST /records HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}',
      417,
      /Expect: teapot is not supported/,
    ],
    ['headers that never end', 'GET / HTTP/1.1\r\nHost: x\r\n', 408, /did not arrive in time/],
    [
      'a body shorter than its Content-Length',
      'POST /records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"half":',
      408,
      /did not arrive in time \(headers within 1000 ms, all of it within 2000 ms\)/,
    ],
  ])('%s: the status it calls for, with a JSON error', async (_what, request, status, error) => {
    const answer = await send(request);
    expect(answer.status).toBe(status);
    expect(answer.headers).toMatch(/^Content-Type: application\/json/im);
    expect((answer.body as { error: string }).error).toMatch(error);
  });

  test('the proxy is still there and serving', async () => {
    const res = await fetch(proxy.url, { signal: AbortSignal.timeout(3000) });
    expect(res.status).toBe(200);
    expect(proxy.output()).not.toMatch(/Error|Uncaught/);
  });
});
