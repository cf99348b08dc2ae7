import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StageProcess } from '../../../testing/stage-process.ts';
import { Cluster, eventually, eventuallyReplica, lbStatus } from './cluster.ts';

// One real replica (replica-2) and, per test, a fake one that misbehaves:
// a raw TCP server on a port of its own. Each test has a proxy of its own
// that sees the real replica and its fake, under a service name of its own.
let cluster: Cluster;
const TIMEOUT_MS = 1000;

beforeAll(async () => {
  cluster = await Cluster.start();
  await cluster.startReplica('replica-2');
});
afterAll(() => cluster?.stop());

const address = (name: string) => cluster.address(name);

/** A proxy whose service name resolves to the real replica and the fake `fake`. */
async function proxyWithFake(fake: string, onConnection: (socket: Socket) => void): Promise<StageProcess> {
  await cluster.startFake(fake, onConnection);
  const name = `with-${fake}`;
  cluster.setName(name, ['replica-2', fake]);
  return cluster.startProxy({ UPSTREAM_HOST: name, PROXY_TIMEOUT_MS: String(TIMEOUT_MS) });
}

/** Reads a request up to the end of its headers, then calls `then`. */
function afterHeaders(socket: Socket, then: () => void): void {
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk;
    if (received.includes('\r\n\r\n')) then();
  });
  socket.on('error', () => {});
}

/** Sends `send` until the answer's status is `status`, at most 4 times (two replicas take turns). */
async function until(status: number, send: () => Promise<Response>): Promise<Response> {
  for (let i = 0; i < 4; i++) {
    const res = await send();
    if (res.status === status) return res;
    await res.body?.cancel();
  }
  throw new Error(`no ${status} in 4 requests`);
}

describe('stage 05: replicas that misbehave', () => {
  test('a replica that hangs: 504 naming it after PROXY_TIMEOUT_MS, then it is out of the rotation', async () => {
    const hung = address('replica-9');
    const proxy = await proxyWithFake('replica-9', () => {}); // accepts, never answers
    const res = await until(504, () => fetch(proxy.url, { signal: AbortSignal.timeout(5000) }));
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      error: `Replica ${hung} did not answer within ${TIMEOUT_MS} ms`,
      replica: hung,
    });
    const seen = (await lbStatus(proxy)).replicas.find((replica) => replica.address === hung);
    expect(seen).toMatchObject({
      state: 'down',
      failures: 1,
      lastError: `no answer within ${TIMEOUT_MS} ms`,
    });
    // Its health probe hangs too, so it stays out: the next requests all go to the real one.
    for (let i = 0; i < 4; i++) {
      const next = await fetch(proxy.url, { signal: AbortSignal.timeout(5000) });
      expect(next.status).toBe(200);
      expect(next.headers.get('x-served-by')).toBe('replica-2');
      await next.body?.cancel();
    }
    await proxy.stop();
  });

  test('a replica that drops the connection after it got the request: GET goes to another replica', async () => {
    const dropper = address('replica-10');
    const proxy = await proxyWithFake('replica-10', (socket) => afterHeaders(socket, () => socket.destroy()));
    for (let i = 0; i < 4; i++) {
      const res = await fetch(proxy.url, { signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-served-by')).toBe('replica-2');
      await res.body?.cancel();
    }
    const seen = (await lbStatus(proxy)).replicas.find((replica) => replica.address === dropper);
    expect(seen).toMatchObject({ state: 'down', failures: 1, lastError: 'socket hang up' });
    expect(proxy.output()).toMatch(
      new RegExp(`^GET / 200 replica-2 ${address('replica-2')} \\d+ms \\(try 2\\)$`, 'm'),
    );
    await proxy.stop();
  });

  test('...but a POST there is a 502 naming the replica: it may have done its work already', async () => {
    const dropper = address('replica-11');
    const proxy = await proxyWithFake('replica-11', (socket) => afterHeaders(socket, () => socket.destroy()));
    const post = () =>
      fetch(`${proxy.url}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"once": true}',
        signal: AbortSignal.timeout(5000),
      });
    const res = await until(502, post);
    expect(await res.json()).toEqual({
      error: `Replica ${dropper} failed: socket hang up`,
      replica: dropper,
    });
    await proxy.stop();
  });

  test('a replica that dies in the middle of its answer: the client is cut off too, it does not hang', async () => {
    const proxy = await proxyWithFake('replica-12', (socket) =>
      afterHeaders(socket, () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nthe first ');
        setTimeout(() => socket.destroy(), 50);
      }),
    );
    let cutOff = false;
    for (let i = 0; i < 4 && !cutOff; i++) {
      const res = await fetch(proxy.url, { signal: AbortSignal.timeout(5000) });
      // The status line was already out: the body cannot be finished.
      cutOff = await res.text().then(
        () => false,
        (err: Error) => !/timeout|abort/i.test(`${err.name} ${err.message}`),
      );
    }
    expect(cutOff).toBe(true);
    await eventuallyReplica(proxy, address('replica-12'), (replica) => replica?.state === 'down');
    expect((await fetch(proxy.url)).status).toBe(200);
    await proxy.stop();
  });

  test('clients that hang up in the middle do not hurt the proxy', async () => {
    const proxy = await proxyWithFake('replica-13', () => {}); // a hung replica, to have requests in flight
    const port = Number(new URL(proxy.url).port);
    // 1. A client that hangs up halfway through its request body.
    const halfway = connect(port, '127.0.0.1');
    halfway.write('POST /records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n');
    halfway.write('Content-Length: 100\r\n\r\n{"half":');
    // 2. Clients that hang up while their request waits for a replica (the
    //    hung one), and while it is served by the real one.
    const waiting = Array.from({ length: 4 }, () => {
      const socket = connect(port, '127.0.0.1');
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
      socket.on('error', () => {});
      return socket;
    });
    await sleep(200);
    halfway.destroy();
    for (const socket of waiting) socket.destroy();
    await sleep(TIMEOUT_MS + 200);

    // Still there, still serving, and the hung replica was not blamed for
    // requests its clients gave up on.
    expect(proxy.child.exitCode).toBeNull();
    const res = await fetch(proxy.url, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    const hung = (await lbStatus(proxy)).replicas.find(
      (replica) => replica.address === address('replica-13'),
    );
    expect(hung).toMatchObject({ failures: 0 });
    expect(proxy.output()).toMatch(/^GET \/ aborted /m);
    expect(proxy.output()).not.toMatch(/Error|Uncaught/);
    expect(await proxy.stop()).toBe(0);
  });

  test('the proxy closes a kept-alive connection before the replica said it would (Keep-Alive: timeout)', async () => {
    // A replica that announces it closes idle connections after 2 s. A request
    // sent on a connection at the moment the replica closes it fails, so the
    // proxy must close first (Node's agent: a second earlier).
    let idleUntilClosed: Promise<number> | undefined;
    const proxy = await proxyWithFake('replica-14', (socket) => {
      afterHeaders(socket, () => {
        const answered = Date.now();
        idleUntilClosed = new Promise((resolve) => socket.once('end', () => resolve(Date.now() - answered)));
        socket.write(
          'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=2\r\nContent-Length: 4\r\n\r\nfake',
        );
      });
    });
    for (let i = 0; i < 4 && !idleUntilClosed; i++) {
      const res = await fetch(proxy.url, { signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(200);
      await res.text();
    }
    if (!idleUntilClosed) throw new Error('no request reached the fake replica');
    const never = sleep(4000).then(() => Number.POSITIVE_INFINITY);
    expect(await Promise.race([idleUntilClosed, never])).toBeLessThan(2000);
    await proxy.stop();
  });

  test('a kept-alive connection the replica closes as the next request arrives: the POST is retried, not a 502', async () => {
    // The race of a replica that closes its idle connections (keep-alive
    // timeout, shutdown) just as the proxy sends the next request on one: it
    // answers the first request of a connection, and resets the connection
    // when a second one arrives on it, without reading it.
    const proxy = await proxyWithFake('replica-15', (socket) => {
      let requests = 0;
      afterHeaders(socket, () => {
        if (++requests > 1) return void socket.resetAndDestroy();
        socket.write(
          'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=60\r\nContent-Length: 4\r\n\r\nfake',
        );
      });
    });
    // Turns: GETs until one went to the fake (its connection is now kept
    // alive), then one that goes to the real replica: the POST is the fake's.
    let text = '';
    for (let i = 0; i < 4 && text !== 'fake'; i++) text = await (await fetch(proxy.url)).text();
    expect(text).toBe('fake');
    expect((await fetch(proxy.url)).headers.get('x-served-by')).toBe('replica-2');
    const res = await fetch(`${proxy.url}/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"race": true}',
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-served-by')).toBe('replica-2');
    expect((await res.json()).data).toEqual({ race: true });
    const retried = new RegExp(
      `^POST /records 201 replica-2 ${address('replica-2')} \\d+ms \\(try 2\\)$`,
      'm',
    );
    await eventually('the log line of the POST', () => (retried.test(proxy.output()) ? true : undefined));
    await proxy.stop();
  });

  test('every replica is asked for /healthz: one that says "draining" leaves the rotation, and comes back', async () => {
    let draining = true;
    const fake = address('replica-16');
    const proxy = await proxyWithFake('replica-16', (socket) => {
      afterHeaders(socket, () => {
        const body = draining ? '{"status":"draining"}' : '{"status":"ok"}';
        const status = draining ? '503 Service Unavailable' : '200 OK';
        socket.end(
          `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
      });
    });
    // It never failed a request: only its health probe can take it out.
    const seen = await eventuallyReplica(proxy, fake, (replica) => replica?.state === 'draining');
    expect(seen).toMatchObject({ failures: 0 });
    expect(proxy.output()).toMatch(
      new RegExp(`replica ${address('replica-16')} \\(.*\\) is draining: out of the rotation`),
    );
    for (let i = 0; i < 4; i++) {
      const res = await fetch(proxy.url, { signal: AbortSignal.timeout(5000) });
      expect(res.headers.get('x-served-by')).toBe('replica-2');
      await res.body?.cancel();
    }
    // It answers healthy again (it did not stop after all): back in.
    draining = false;
    await eventuallyReplica(proxy, fake, (replica) => replica?.state === 'up');
    await proxy.stop();
  });

  test('a request body over PROXY_MAX_BODY_BYTES is a 413 from the proxy', async () => {
    cluster.setName('only-real', ['replica-2']);
    const proxy = await cluster.startProxy({ UPSTREAM_HOST: 'only-real', PROXY_MAX_BODY_BYTES: '1000' });
    const res = await fetch(`${proxy.url}/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(2000) }),
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'Request body is larger than 1000 bytes' });
    await proxy.stop();
  });
});
