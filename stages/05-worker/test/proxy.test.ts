import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { runStageToExit, type StageProcess } from '../../../testing/stage-process.ts';
import { Cluster, eventually, lbStatus, load, tally } from './cluster.ts';

// Three replicas of web behind the proxy, sharing one Redis and one Postgres database.
let cluster: Cluster;
let proxy: StageProcess;
const names = ['replica-2', 'replica-3', 'replica-4'];

beforeAll(async () => {
  cluster = await Cluster.start();
  for (const name of names) await cluster.startReplica(name);
  proxy = await cluster.startProxy();
});
afterAll(() => cluster?.stop());

describe('stage 05: the proxy spreads the load', () => {
  test('takes turns: six requests, each replica serves two, and says so in X-Served-By and the text', async () => {
    const served: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(proxy.url, { signal: AbortSignal.timeout(3000) });
      expect(res.status).toBe(200);
      const replica = res.headers.get('x-served-by') ?? '';
      expect(await res.text()).toMatch(
        new RegExp(`^I have been seen \\d+ times \\(replica ${replica}\\)\\.\\n$`),
      );
      served.push(replica);
    }
    expect(tally(served)).toEqual({ 'replica-2': 2, 'replica-3': 2, 'replica-4': 2 });
    // Round robin: the same order both rounds.
    expect(served.slice(3)).toEqual(served.slice(0, 3));
  });

  test('the counter stays exact across replicas: 300 requests, 10 at a time, counts 1 to 300 (plus what came before)', async () => {
    const before = await currentCount();
    const result = await load(proxy.url, { total: 300, concurrency: 10 });
    expect(result.failed).toEqual([]);
    const counts = result.texts.map((text) => Number(/^I have been seen (\d+) times/.exec(text)?.[1]));
    expect(counts.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => before + 1 + i));
    expect(Object.keys(tally(result.servedBy)).sort()).toEqual(['replica-2', 'replica-3', 'replica-4']);
  });

  test('records written through one replica are read through all of them', async () => {
    const written: { id: number; servedBy: string | null }[] = [];
    for (let i = 1; i <= 3; i++) {
      const res = await fetch(`${proxy.url}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: `Record ${i}` }),
        signal: AbortSignal.timeout(3000),
      });
      expect(res.status).toBe(201);
      written.push({ id: (await res.json()).id, servedBy: res.headers.get('x-served-by') });
    }
    // Three writes, three replicas: each wrote one.
    expect(written.map((w) => w.servedBy).sort()).toEqual(['replica-2', 'replica-3', 'replica-4']);
    // Every record, read three times in a row: once through each replica.
    for (const [i, { id }] of written.entries()) {
      const readers: string[] = [];
      for (let read = 0; read < 3; read++) {
        const res = await fetch(`${proxy.url}/records/${id}`, { signal: AbortSignal.timeout(3000) });
        expect(await res.json()).toEqual({ id, data: { title: `Record ${i + 1}` } });
        readers.push(res.headers.get('x-served-by') ?? '');
      }
      expect(readers.sort()).toEqual(['replica-2', 'replica-3', 'replica-4']);
    }
  });

  test('the tables were made once, by the migrate script, not by the replicas', async () => {
    const client = new pg.Client({ connectionString: cluster.env.DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT name FROM migrations ORDER BY name');
      expect(rows).toEqual([
        { name: '0001-create-records' },
        { name: '0002-add-archive-columns' },
        { name: '0003-index-records-waiting-for-archive' },
      ]);
    } finally {
      await client.end();
    }
  });

  test('answers that are errors carry X-Served-By too, and pass through unchanged', async () => {
    const res = await fetch(`${proxy.url}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get('x-served-by')).toMatch(/^replica-\d$/);
    expect(await res.json()).toEqual({ error: 'No route for GET /nope' });
  });

  test('GET /__lb shows every replica with its state and its request and failure counts', async () => {
    const status = await lbStatus(proxy);
    expect(status.upstream).toBe('web:8080');
    // In the pool's order: by address.
    expect(status.replicas).toEqual(
      names
        .toSorted((a, b) => cluster.address(a).localeCompare(cluster.address(b)))
        .map((name) => ({
          address: cluster.address(name),
          name,
          state: 'up',
          requests: expect.any(Number),
          failures: 0,
          lastError: null,
        })),
    );
    const total = status.replicas.reduce((sum, replica) => sum + replica.requests, 0);
    expect(total).toBeGreaterThanOrEqual(300);
    for (const replica of status.replicas) expect(replica.requests).toBeGreaterThan(50);
  });

  test('the log has one line per request, naming the replica that served it', async () => {
    const res = await fetch(`${proxy.url}/healthz?from=log-test`);
    const replica = res.headers.get('x-served-by');
    await res.body?.cancel();
    const line = await eventually('the log line', () =>
      proxy
        .output()
        .split('\n')
        .find((l) => l.includes('from=log-test')),
    );
    expect(line).toMatch(
      new RegExp(`^GET /healthz\\?from=log-test 200 ${replica} 127\\.0\\.0\\.1:\\d+ \\d+ms$`),
    );
  });

  test('/healthz goes through to a replica (it is the healthcheck of the proxy too)', async () => {
    const res = await fetch(`${proxy.url}/healthz`);
    expect(res.status).toBe(200);
    expect((await res.json()).status).toBe('ok');
  });
});

describe('stage 05: the proxy process', () => {
  test.each(['SIGTERM', 'SIGINT'] as const)(
    '%s finishes the request in flight, then exits 0',
    async (signal) => {
      const own = await cluster.startProxy();
      // A request whose last header line has not arrived yet is in flight.
      const socket = connect(Number(new URL(own.url).port), '127.0.0.1');
      let response = '';
      socket.on('data', (chunk) => (response += chunk));
      const closed = new Promise((resolve) => socket.on('close', resolve));
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
      await sleep(100);

      const exit = own.stop(signal);
      await sleep(200);
      // Meanwhile, the proxy takes no new connections...
      await expect(fetch(own.url)).rejects.toThrow();
      // ...but the request in flight still goes to a replica and gets its answer.
      socket.write('\r\n');
      await closed;
      expect(response).toMatch(/^HTTP\/1.1 200 OK/);
      expect(response).toMatch(/X-Served-By: replica-\d/i);
      expect(response).toMatch(/I have been seen \d+ times/);
      expect(await exit).toBe(0);
      expect(own.output()).toContain(`${signal} received`);
    },
  );

  test.each([
    ['PROXY_TIMEOUT_MS', 'soon', 'PROXY_TIMEOUT_MS must be a whole number from 100 to 600000, got "soon"'],
    ['UPSTREAM_PORT', '0', 'UPSTREAM_PORT must be a whole number from 1 to 65535, got "0"'],
    [
      'HEADERS_TIMEOUT_MS',
      '40000',
      'HEADERS_TIMEOUT_MS must not be longer than REQUEST_TIMEOUT_MS: the headers are part of the request',
    ],
  ])('%s=%s stops the start with a message that names it', async (name, value, message) => {
    const { code, output } = await runStageToExit('05-worker', {
      script: 'src/proxy.ts',
      env: { [name]: value },
    });
    expect(code).toBe(1);
    expect(output).toContain(`Configuration error: ${message}`);
  });
});

async function currentCount(): Promise<number> {
  const text = await (await fetch(proxy.url)).text();
  return Number(/^I have been seen (\d+) times/.exec(text)?.[1]);
}
