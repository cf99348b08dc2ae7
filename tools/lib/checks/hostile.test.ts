// The hostile requests against real Node HTTP servers on 127.0.0.1: one as
// Node comes (its parser's errors are empty, non-JSON answers, and it waits
// for a short body), one that answers them with JSON and bounds slow clients.
// The judge must fail the first and pass the second.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type HostileCase, jsonCases, judgeAnswer, parseResponse, parserCases, sendRaw } from './hostile.ts';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** Answers every request that gets through with a JSON 422, as the stages answer bad records. */
function app(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.on('end', () => {
    // Node refuses a request without Host itself, with an empty 400, unless told not to (requireHostHeader).
    const [status, error] = req.headers.host
      ? [422, 'A record must be a JSON object like {"title": "Test"}']
      : [400, 'A request needs a Host header'];
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error }));
  });
}

let plain: Server;
let careful: Server;
let plainPort: number;
let carefulPort: number;

beforeAll(async () => {
  plain = createServer(app);
  plainPort = await listen(plain);
  // A body that never completes is ended by requestTimeout, checked every 200 ms here.
  careful = createServer(
    { requestTimeout: 1000, connectionsCheckingInterval: 200, requireHostHeader: false },
    app,
  );
  careful.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ error: `Bad request (${err.code})` });
    socket.end(
      `HTTP/1.1 ${status} Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  careful.on('checkExpectation', (_req, res) => {
    res.writeHead(417, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ error: 'Only Expect: 100-continue is understood' }));
  });
  carefulPort = await listen(careful);
});

afterAll(() => {
  plain.closeAllConnections();
  careful.closeAllConnections();
  plain.close();
  careful.close();
});

const byName = (name: string) => parserCases().find((c) => c.name === name) as HostileCase;

test('a JSON 4xx passes; a JSON 2xx for a body that must be refused does not', async () => {
  const [surrogate] = jsonCases();
  const answer = await sendRaw(plainPort, (surrogate as HostileCase).request, { timeoutMs: 5000 });
  expect(answer.status).toBe(422);
  expect(judgeAnswer({ mustRefuse: true }, answer)).toBeUndefined();
  expect(judgeAnswer({ mustRefuse: true }, { ...answer, status: 201 })).toMatch(/^201: accepted /);
  expect(judgeAnswer({ mustRefuse: true }, { ...answer, status: 500 })).toMatch(/^500 /);
});

test.each(['no Host header', 'two different Content-Length headers', 'bad chunking', 'a 100 KiB header'])(
  "%s: Node's own answer is empty, not JSON; with a clientError handler it is JSON",
  async (name) => {
    const hostile = byName(name);
    const bare = await sendRaw(plainPort, hostile.request, { timeoutMs: 5000 });
    expect(bare.status).toBeGreaterThanOrEqual(400);
    expect(judgeAnswer(hostile, bare)).toMatch(/not JSON/);
    const handled = await sendRaw(carefulPort, hostile.request, { timeoutMs: 5000 });
    expect(judgeAnswer(hostile, handled)).toBeUndefined();
  },
);

test('Expect: teapot: 417, empty unless the server answers it itself', async () => {
  const hostile = byName('Expect: teapot');
  const bare = await sendRaw(plainPort, hostile.request, { timeoutMs: 5000 });
  expect(bare.status).toBe(417);
  expect(judgeAnswer(hostile, bare)).toMatch(/not JSON/);
  expect(
    judgeAnswer(hostile, await sendRaw(carefulPort, hostile.request, { timeoutMs: 5000 })),
  ).toBeUndefined();
});

test('a body shorter than its Content-Length: held until our deadline, or ended by the server', async () => {
  const hostile = byName('a body shorter than its Content-Length');
  const held = await sendRaw(plainPort, hostile.request, { timeoutMs: 1500 });
  expect(judgeAnswer(hostile, held)).toBe('no answer (no end within 1.5 s)');
  const ended = await sendRaw(carefulPort, hostile.request, { timeoutMs: 5000 });
  expect(ended.status).toBe(408);
  expect(judgeAnswer(hostile, ended)).toBeUndefined();
});

test('parseResponse reads a Content-Length body, a chunked one, and one that ends with the connection', () => {
  const json = '{"error":"x"}';
  const sized = parseResponse(
    Buffer.from(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
    ),
  );
  expect(sized).toEqual({
    status: 400,
    headers: { 'content-type': 'application/json', 'content-length': String(json.length) },
    body: json,
    complete: true,
  });
  const chunked = parseResponse(
    Buffer.from(
      'HTTP/1.1 422 Unprocessable Entity\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"err\r\n8\r\nor":"x"}\r\n0\r\n\r\n',
    ),
  );
  expect(chunked).toMatchObject({ status: 422, body: json, complete: true });
  expect(parseResponse(Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'))).toMatchObject({
    status: 400,
    body: '',
    complete: false,
  });
  expect(parseResponse(Buffer.from('HTTP/1.1 400 Bad'))).toBeUndefined();
});
