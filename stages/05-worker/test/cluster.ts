// The compose setup of this stage, on loopback: several real web processes
// (src/server.ts), each on a port of its own, like containers that each have
// an address of their own, and the real proxy in front (test/proxy-process.ts:
// src/proxy-server.ts, which finds the replicas in a file this class writes,
// where compose's proxy asks Docker's DNS). Replicas have names, replica-2,
// replica-3, ..., which they give in X-Served-By.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMigratedDatabase, type TestDatabase, testRedisUrl } from '../../../testing/isolation.ts';
import { heldPort } from '../../../testing/services.ts';
import { runStage, type StageProcess } from '../../../testing/stage-process.ts';
import type { ReplicasFile } from './proxy-process.ts';

const STAGE = '05-worker';
/** replica-1 to replica-20: the names a test may use. */
const REPLICAS = 20;

export class Cluster {
  /** REDIS_URL and DATABASE_URL that every replica shares, like the containers share redis and db. */
  readonly env: { REDIS_URL: string; DATABASE_URL: string };
  readonly #database: TestDatabase;
  /** What the proxies read instead of DNS: the replicas of each name. */
  readonly #dir = mkdtempSync(join(tmpdir(), 'workshop-replicas-'));
  readonly #file = join(this.#dir, 'replicas.json');
  readonly #names: ReplicasFile['names'] = { web: [] };
  #down = false;
  /** The port of each replica, by name. */
  readonly #ports = new Map<string, number>();
  readonly #processes = new Set<StageProcess>();
  readonly #servers = new Set<Server>();

  private constructor(redisUrl: string, database: TestDatabase, ports: number[]) {
    this.env = { REDIS_URL: redisUrl, DATABASE_URL: database.url };
    this.#database = database;
    // replica-N gets the Nth port in the order the pool sorts addresses in
    // (as text: replica-10 comes before replica-2), so that whose turn it is
    // does not depend on which ports happened to be free.
    const order = Array.from({ length: REPLICAS }, (_, i) => i + 1).sort((a, b) =>
      String(a).localeCompare(String(b)),
    );
    const sorted = ports.map(String).sort();
    for (const [i, n] of order.entries()) this.#ports.set(`replica-${n}`, Number(sorted[i]));
    this.#write();
  }

  /** This test file's Redis database, and a new Postgres database with the tables. */
  static async start(): Promise<Cluster> {
    // Migrated once, before any replica, as compose's `migrate` service does.
    const database = await createMigratedDatabase(STAGE);
    const ports: number[] = [];
    while (ports.length < REPLICAS) {
      const port = await heldPort();
      if (!ports.includes(port)) ports.push(port);
    }
    return new Cluster(await testRedisUrl(), database, ports);
  }

  /** "127.0.0.1:PORT" of the replica `name` (what GET /__lb calls it). */
  address(name: string): string {
    return `127.0.0.1:${this.#port(name)}`;
  }

  /** A web replica `name` (its REPLICA_NAME), on its port, and published under `web`. */
  async startReplica(name: string, env: Record<string, string> = {}): Promise<StageProcess> {
    const port = this.#port(name);
    const replica = await runStage(STAGE, {
      env: { ...this.env, PORT: String(port), REPLICA_NAME: name, ...env },
    });
    this.#processes.add(replica);
    this.publish(name);
    return replica;
  }

  /** A raw TCP server that plays a broken replica: `onConnection` decides what it does. */
  async startFake(name: string, onConnection: (socket: Socket) => void): Promise<Server> {
    const port = this.#port(name);
    const server = createServer(onConnection);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.#servers.add(server);
    return server;
  }

  /** The proxy, with short intervals so tests run fast. */
  async startProxy(env: Record<string, string> = {}): Promise<StageProcess> {
    const proxy = await runStage(STAGE, {
      script: 'test/proxy-process.ts',
      env: {
        REPLICAS_FILE: this.#file,
        RESOLVE_INTERVAL_MS: '200',
        HEALTH_INTERVAL_MS: '200',
        PROXY_TIMEOUT_MS: '1500',
        ...env,
      },
    });
    this.#processes.add(proxy);
    return proxy;
  }

  /** Adds replicas to `web` (docker compose up --scale web=N, one more). A name need not run. */
  publish(...names: string[]): void {
    const published = new Set(this.#names.web);
    for (const name of names) published.add(this.address(name));
    this.#set('web', [...published]);
  }

  /** Takes replicas out of `web` (the container is gone). */
  unpublish(...names: string[]): void {
    const gone = new Set(names.map((name) => this.address(name)));
    this.#set(
      'web',
      (this.#names.web ?? []).filter((address) => !gone.has(address)),
    );
  }

  /** What the service name `host` resolves to from now on (a name of its own for one test's proxy). */
  setName(host: string, names: string[]): void {
    this.#set(
      host,
      names.map((name) => this.address(name)),
    );
  }

  /** From now on, every lookup fails (the DNS server is down). */
  breakDns(): void {
    this.#down = true;
    this.#write();
  }

  async stop(): Promise<void> {
    for (const server of this.#servers) server.close();
    await Promise.all(
      [...this.#processes].map((p) =>
        p.child.exitCode === null && !p.child.signalCode ? p.stop('SIGKILL') : null,
      ),
    );
    await this.#database.drop();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #port(name: string): number {
    const port = this.#ports.get(name);
    if (port === undefined)
      throw new Error(`${name}: not a name of this cluster (replica-1 to replica-${REPLICAS})`);
    return port;
  }

  #set(host: string, addresses: string[]): void {
    this.#names[host] = addresses;
    this.#write();
  }

  // Written whole each time: the proxy reads it between two writes, never halfway.
  #write(): void {
    const content: ReplicasFile = { names: this.#names, down: this.#down };
    writeFileSync(`${this.#file}.new`, JSON.stringify(content));
    renameSync(`${this.#file}.new`, this.#file);
  }
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
