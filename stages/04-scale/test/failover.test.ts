import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { StageProcess } from '../../../testing/stage-process.ts';
import { Cluster, eventually, eventuallyReplica, lbStatus, load, tally } from './cluster.ts';

// Replicas come and go under the proxy, which is never restarted.
let cluster: Cluster;
let proxy: StageProcess;
const replicas = new Map<string, StageProcess>();

beforeAll(async () => {
  cluster = await Cluster.start();
  for (const name of ['replica-2', 'replica-3', 'replica-4']) {
    replicas.set(name, await startReplica(name));
  }
  proxy = await cluster.startProxy();
});
afterAll(() => cluster?.stop());

const address = (name: string) => cluster.address(name);

// A replica that drains for 500 ms when stopped (compose's is 3 s): long
// enough for this proxy, which asks every 200 ms, and short enough that the
// whole of a shutdown falls inside a bounded load.
const startReplica = (name: string) => cluster.startReplica(name, { DRAIN_MS: '500' });

const post = (data: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(data),
});

/** How many records have a `marker` LIKE `pattern`, read from Postgres itself. */
async function countRecords(pattern: string): Promise<number> {
  const client = new pg.Client({ connectionString: cluster.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT count(*) FROM records WHERE data->>'marker' LIKE $1", [
      pattern,
    ]);
    return Number(rows[0].count);
  } finally {
    await client.end();
  }
}

describe('stage 04: replicas come and go', () => {
  test('a replica killed under load (300 requests, 10 at a time): no client sees an error', async () => {
    const victim = replicas.get('replica-3') as StageProcess;
    const result = await load(proxy.url, {
      total: 300,
      concurrency: 10,
      afterEach: async (done) => {
        // SIGKILL: no goodbye, requests in flight die with it.
        if (done === 100) await victim.stop('SIGKILL');
      },
    });
    expect(result.sent).toBe(300);
    expect(result.failed).toEqual([]);
    // The proxy noticed, took it out and says why.
    const seen = await lbStatus(proxy);
    const dead = seen.replicas.find((replica) => replica.address === address('replica-3'));
    expect(dead?.state).toBe('down');
    expect(dead?.failures).toBeGreaterThanOrEqual(1);
    expect(dead?.lastError).toMatch(/ECONNREFUSED|socket hang up|ECONNRESET/);
    // Every request after the kill went to the two that are left.
    const after = await load(proxy.url, { total: 20, concurrency: 2 });
    expect(after.failed).toEqual([]);
    expect(Object.keys(tally(after.servedBy)).sort()).toEqual(['replica-2', 'replica-4']);
  });

  test('a replica that answers again is back in the rotation, without a proxy restart', async () => {
    // Same address as the dead one: its container restarted.
    replicas.set('replica-3', await startReplica('replica-3'));
    await eventuallyReplica(proxy, address('replica-3'), (replica) => replica?.state === 'up');
    const result = await load(proxy.url, { total: 30, concurrency: 3 });
    expect(result.failed).toEqual([]);
    expect(Object.keys(tally(result.servedBy)).sort()).toEqual(['replica-2', 'replica-3', 'replica-4']);
    expect(proxy.output()).toContain(`replica ${address('replica-3')} (replica-3) is up again`);
  });

  test('two replicas stopped (SIGTERM) under load, POSTs included (600 requests, 10 at a time): no client sees an error', async () => {
    let sent = 0;
    const stopped: Promise<number | string>[] = [];
    const result = await load(`${proxy.url}/records`, {
      total: 600,
      concurrency: 10,
      // Every other request a POST, each with a marker of its own.
      init: () => (sent++ % 2 === 0 ? { method: 'GET' } : post({ marker: `sigterm-${sent}` })),
      afterEach: async (done) => {
        if (done === 100) stopped.push((replicas.get('replica-3') as StageProcess).stop('SIGTERM'));
        if (done === 300) stopped.push((replicas.get('replica-4') as StageProcess).stop('SIGTERM'));
        await sleep(20); // about 1.5 s of load: each drain, close, and after
      },
    });
    expect(result.failed).toEqual([]);
    expect(await Promise.all(stopped)).toEqual([0, 0]);
    for (const name of ['replica-3', 'replica-4']) {
      expect(proxy.output()).toMatch(new RegExp(`replica 127\\.0\\.0\\.1:\\d+ \\(${name}\\) is draining`));
    }
    // Each POST stored its record once: a retried POST never ran twice.
    const posts = result.texts.filter((text) => text.startsWith('{"id"'));
    expect(posts).toHaveLength(300);
    expect(await countRecords('sigterm-%')).toBe(300);
    // Back, for the tests that follow: the same addresses, new processes.
    for (const name of ['replica-3', 'replica-4']) {
      replicas.set(name, await startReplica(name));
      await eventuallyReplica(proxy, address(name), (replica) => replica?.state === 'up');
    }
  });

  test('scaling up: a new replica in DNS gets requests within seconds', async () => {
    replicas.set('replica-5', await startReplica('replica-5'));
    await eventuallyReplica(proxy, address('replica-5'), (replica) => replica !== undefined);
    const result = await load(proxy.url, { total: 40, concurrency: 4 });
    expect(result.failed).toEqual([]);
    expect(tally(result.servedBy)['replica-5']).toBeGreaterThanOrEqual(1);
    expect(proxy.output()).toContain(`web: 4 replica(s): +${address('replica-5')}`);
  });

  test('scaling down, like compose does it (SIGTERM, then out of DNS) under load: no errors', async () => {
    const leaving = replicas.get('replica-5') as StageProcess;
    const result = await load(proxy.url, {
      total: 200,
      concurrency: 10,
      afterEach: async (done) => {
        if (done === 50) await leaving.stop('SIGTERM');
        if (done === 100) cluster.unpublish('replica-5');
      },
    });
    expect(result.failed).toEqual([]);
    // Once DNS no longer has it, neither does the proxy.
    await eventuallyReplica(proxy, address('replica-5'), (replica) => replica === undefined);
    expect((await lbStatus(proxy)).replicas.map((replica) => replica.address)).toEqual(
      ['replica-2', 'replica-3', 'replica-4'].map(address),
    );
  });

  test('a POST whose replica refuses the connection goes to another one (it never got there)', async () => {
    // DNS lists an address where nothing listens: a container that has just died.
    cluster.publish('replica-8');
    await eventuallyReplica(proxy, address('replica-8'), (replica) => replica !== undefined);
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${proxy.url}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ attempt: i }),
        signal: AbortSignal.timeout(3000),
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-served-by')).toMatch(/^replica-[234]$/);
      const record = await res.json();
      expect(record.data).toEqual({ attempt: i });
      ids.push(record.id);
    }
    // Each POST created one record, none two.
    expect(new Set(ids).size).toBe(4);
    const page = await (await fetch(`${proxy.url}/records?after=${(ids[0] as number) - 1}`)).json();
    expect(page.results.map((record: { id: number }) => record.id)).toEqual(ids);
    const refused = await eventuallyReplica(
      proxy,
      address('replica-8'),
      (replica) => replica?.state === 'down',
    );
    expect(refused?.lastError).toMatch(/ECONNREFUSED/);
    cluster.unpublish('replica-8');
  });

  test('no replica at all (scaled to 0) is a 503 that names the service; it serves once the name resolves', async () => {
    const own = await cluster.startProxy({ UPSTREAM_HOST: 'nothing-here' });
    const res = await fetch(own.url, { signal: AbortSignal.timeout(3000) });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: 'No replica of nothing-here is running; try again in a moment',
      dependency: 'nothing-here',
    });
    // ...and it serves as soon as the name resolves.
    cluster.setName('nothing-here', ['replica-2']);
    const served = await eventually('a 200 through the new name', async () => {
      const again = await fetch(own.url, { signal: AbortSignal.timeout(3000) });
      return again.status === 200 ? again.headers.get('x-served-by') : undefined;
    });
    expect(served).toBe('replica-2');
    await own.stop();
  });

  test('DNS goes away: the proxy keeps the replicas it knows, and says so once', async () => {
    cluster.breakDns();
    await eventually('the log line', () =>
      proxy.output().includes('DNS lookup of web failed') ? true : undefined,
    );
    const result = await load(proxy.url, { total: 30, concurrency: 3 });
    expect(result.failed).toEqual([]);
    expect(Object.keys(tally(result.servedBy)).sort()).toEqual(['replica-2', 'replica-3', 'replica-4']);
    expect(proxy.output().match(/DNS lookup of web failed/g)).toHaveLength(1);
  });
});
