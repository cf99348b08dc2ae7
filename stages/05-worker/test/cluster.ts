// The compose setup of this stage, on loopback: a DNS server that plays
// Docker's (the service name `web` resolves to every replica), several real
// web processes (src/server.ts) that listen on the same port at different
// loopback addresses, 127.0.0.2, 127.0.0.3, ... (like containers, each with
// an address of its own), and the real proxy (src/proxy.ts) in front.
// On Linux all of 127.0.0.0/8 is loopback: no setup needed.
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDnsServer, type TestDnsServer } from '../../../testing/dns-server.ts';
import { createMigratedDatabase, type TestDatabase, testRedisUrl } from '../../../testing/isolation.ts';
import { freePort } from '../../../testing/services.ts';
import { runStage, type StageProcess } from '../../../testing/stage-process.ts';

export class Cluster {
  readonly dns: TestDnsServer;
  /** The port of every replica (UPSTREAM_PORT). */
  readonly port: number;
  /** REDIS_URL and DATABASE_URL that every replica shares, like the containers share redis and db. */
  readonly env: { REDIS_URL: string; DATABASE_URL: string };
  readonly #database: TestDatabase;
  /** What DNS says about `web`, in the order the addresses were published. */
  readonly published = new Set<string>();
  readonly #processes = new Set<StageProcess>();
  readonly #servers = new Set<Server>();

  private constructor(dns: TestDnsServer, port: number, redisUrl: string, database: TestDatabase) {
    this.dns = dns;
    this.port = port;
    this.env = { REDIS_URL: redisUrl, DATABASE_URL: database.url };
    this.#database = database;
  }

  /** A new DNS server, this test file's Redis database, and a new Postgres database with the tables. */
  static async start(): Promise<Cluster> {
    await checkLoopbackAddresses();
    // Migrated once, before any replica, as compose's `migrate` service does.
    const database = await createMigratedDatabase('05-worker');
    return new Cluster(await startDnsServer(), await freePort(), await testRedisUrl(), database);
  }

  /** A web replica on `ip`, with REPLICA_NAME `replica-N` for 127.0.0.N, and published in DNS. */
  async startReplica(ip: string, env: Record<string, string> = {}): Promise<StageProcess> {
    const replica = await runStage('05-worker', {
      env: { ...this.env, PORT: String(this.port), LISTEN_HOST: ip, REPLICA_NAME: replicaName(ip), ...env },
    });
    this.#processes.add(replica);
    this.publish(ip);
    return replica;
  }

  /** A raw TCP server on `ip` that plays a broken replica: `onConnection` decides what it does. */
  async startFake(ip: string, onConnection: (socket: Socket) => void): Promise<Server> {
    const server = createServer(onConnection);
    await new Promise<void>((resolve) => server.listen(this.port, ip, resolve));
    this.#servers.add(server);
    this.publish(ip);
    return server;
  }

  /** The proxy, asking this cluster's DNS server for `web`, with short intervals so tests run fast. */
  async startProxy(env: Record<string, string> = {}): Promise<StageProcess> {
    const proxy = await runStage('05-worker', {
      script: 'src/proxy.ts',
      env: {
        UPSTREAM_DNS: this.dns.address,
        UPSTREAM_PORT: String(this.port),
        RESOLVE_INTERVAL_MS: '200',
        HEALTH_INTERVAL_MS: '200',
        PROXY_TIMEOUT_MS: '1500',
        ...env,
      },
    });
    this.#processes.add(proxy);
    return proxy;
  }

  /** Adds addresses to the DNS answer for `web` (docker compose up --scale web=N, one more). */
  publish(...ips: string[]): void {
    for (const ip of ips) this.published.add(ip);
    this.dns.set('web', [...this.published]);
  }

  /** Takes addresses out of the DNS answer (the container is gone). */
  unpublish(...ips: string[]): void {
    for (const ip of ips) this.published.delete(ip);
    this.dns.set('web', [...this.published]);
  }

  async stop(): Promise<void> {
    for (const server of this.#servers) server.close();
    await Promise.all(
      [...this.#processes].map((p) =>
        p.child.exitCode === null && !p.child.signalCode ? p.stop('SIGKILL') : null,
      ),
    );
    await this.dns.close();
    await this.#database.drop();
  }
}

/** Linux answers on all of 127.0.0.0/8; macOS only on 127.0.0.1 unless told otherwise. */
async function checkLoopbackAddresses(): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.13', resolve);
    });
  } catch (err) {
    throw new Error(
      `These tests run replicas on 127.0.0.2 to 127.0.0.13, and this machine cannot listen there ` +
        `(${(err as Error).message}). On macOS, add the addresses to the loopback interface first: ` +
        'for i in $(seq 2 13); do sudo ifconfig lo0 alias 127.0.0.$i up; done',
    );
  } finally {
    server.close();
  }
}

export function replicaName(ip: string): string {
  return `replica-${ip.split('.').at(-1)}`;
}

export interface LbReplica {
  address: string;
  name: string | null;
  state: 'up' | 'draining' | 'down';
  requests: number;
  failures: number;
  lastError: string | null;
}

/** GET /__lb on the proxy. */
export async function lbStatus(proxy: StageProcess): Promise<{ upstream: string; replicas: LbReplica[] }> {
  const res = await fetch(`${proxy.url}/__lb`, { signal: AbortSignal.timeout(3000) });
  return res.json();
}

/** Resolves once `check` returns something other than undefined; asks every 100 ms for at most 5 s. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`${what}: not within 5 s`);
}

/** The replica at `address` as GET /__lb shows it, once `check` holds for it. */
export async function eventuallyReplica(
  proxy: StageProcess,
  address: string,
  check: (replica: LbReplica | undefined) => boolean,
): Promise<LbReplica | undefined> {
  let last: LbReplica | undefined;
  return eventually(`GET /__lb: ${address}`, async () => {
    last = (await lbStatus(proxy)).replicas.find((replica) => replica.address === address);
    return check(last) ? { found: last } : undefined;
  }).then(({ found }) => found);
}

export interface LoadResult {
  sent: number;
  /** Requests that got no answer, or an answer that was not a 2xx. */
  failed: { status: number | string; body: string }[];
  texts: string[];
  servedBy: string[];
}

/**
 * `total` requests, `concurrency` at a time (a fixed, bounded load); after
 * each answer, `afterEach(done)` may act (kill a replica after the 100th...).
 */
export async function load(
  url: string,
  options: {
    total: number;
    concurrency: number;
    init?: () => RequestInit;
    afterEach?: (done: number) => unknown;
  },
): Promise<LoadResult> {
  const result: LoadResult = { sent: 0, failed: [], texts: [], servedBy: [] };
  let done = 0;
  const worker = async () => {
    while (result.sent < options.total) {
      result.sent++;
      try {
        const res = await fetch(url, { ...options.init?.(), signal: AbortSignal.timeout(5000) });
        const text = await res.text();
        if (res.ok) result.texts.push(text);
        else result.failed.push({ status: res.status, body: text });
        result.servedBy.push(res.headers.get('x-served-by') ?? '');
      } catch (err) {
        result.failed.push({ status: 'no answer', body: String(err) });
      }
      done++;
      await options.afterEach?.(done);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return result;
}

/** How many times each value occurs. */
export function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
