// The proxy's parts put together (src/proxy.ts runs it): discovery fills
// the pool of replicas, health checks and the forwarder keep it up to date,
// and one HTTP server forwards every request except GET /__lb, the proxy's
// view of things.
import { createServer, type IncomingMessage, type ServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkToken, publicKey } from './auth.ts';
import { answerClientErrors, refusedWithoutHost, reply } from './proxy-answers.ts';
import type { ProxyConfig } from './proxy-config.ts';
import { type Discovery, type Resolve, startDiscovery } from './proxy-discovery.ts';
import { Forwarder } from './proxy-forward.ts';
import { startHealthChecks } from './proxy-health.ts';
import { type Replica, ReplicaPool } from './proxy-replicas.ts';

export interface Proxy {
  /** Listens on config.port, and says so. */
  listen(): Promise<void>;
  /** Stops taking connections, lets the requests in flight finish, then exits 0. */
  shutdown(signal: string): void;
}

// One line when something changes, for the logs (docker compose logs proxy).
const whom = (replica: Replica) => `replica ${replica.address} (${replica.name ?? 'name not known yet'})`;
const events = {
  onDown: (replica: Replica, reason: string) => console.log(`${whom(replica)} is down: ${reason}`),
  onUp: (replica: Replica) => console.log(`${whom(replica)} is up again`),
  onDraining: (replica: Replica) => console.log(`${whom(replica)} is draining: out of the rotation`),
};

/** The proxy, with the replicas found once (through DNS, unless `resolve` says otherwise). */
export async function createProxy(config: ProxyConfig, resolve?: Resolve): Promise<Proxy> {
  const lbKey = await publicKey(config.auth.publicKey);
  const pool = new ReplicaPool();
  const discovery = discoverReplicas(pool, config, resolve);
  const health = startHealthChecks(pool, {
    intervalMs: config.healthIntervalMs,
    timeoutMs: Math.min(config.proxyTimeoutMs, 2_000),
    onUp: events.onUp,
    onDraining: events.onDraining,
  });
  const forwarder = new Forwarder(pool, config, events);

  const server = createServer(serverOptions(config), async (req: IncomingMessage, res: ServerResponse) => {
    if (refusedWithoutHost(req, res)) return;
    if (req.method === 'GET' && req.url?.split('?')[0] === '/__lb') {
      // The proxy's view of the cluster is for the operator: a token with the scope dashboard.
      const refused = await checkToken(lbKey, config.auth, 'dashboard', req.headers.authorization);
      if (refused) return reply(res, refused.status, { error: refused.message, reason: refused.reason });
      return showPool(res, pool, config);
    }
    forwarder.forward(req, res);
  });
  answerClientErrors(server, config);

  await discovery.refresh();
  return {
    async listen() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject); // the port is taken, for one
        server.listen(config.port, resolve);
      });
      console.log(`listening on port ${(server.address() as AddressInfo).port}`);
    },
    shutdown(signal) {
      console.log(`${signal} received, finishing in-flight requests`);
      server.close(() => {
        discovery.stop();
        health.stop();
        console.log('stopped');
        process.exit(0);
      });
      // A keep-alive connection turns idle once its last response is out: close
      // those as they appear, instead of waiting for the client to hang up.
      setInterval(() => server.closeIdleConnections(), 100).unref();
      // A client that never finishes its request must not keep us alive forever.
      setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs).unref();
    },
  };
}

/** Keeps the pool in step with DNS, and logs what changed. */
function discoverReplicas(pool: ReplicaPool, config: ProxyConfig, resolve?: Resolve): Discovery {
  let lookupFailing = false;
  return startDiscovery({
    host: config.upstreamHost,
    port: config.upstreamPort,
    intervalMs: config.resolveIntervalMs,
    resolve,
    onResolved: (addresses) => {
      lookupFailing = false;
      const { added, removed } = pool.update(addresses);
      if (added.length === 0 && removed.length === 0) return;
      const changes = [...added.map((a) => `+${a}`), ...removed.map((a) => `-${a}`)].join(' ');
      console.log(`${config.upstreamHost}: ${addresses.length} replica(s): ${changes}`);
    },
    onError: (err) => {
      // Once per outage, not every few seconds.
      if (!lookupFailing) console.warn(`DNS lookup of ${config.upstreamHost} failed: ${err.message}`);
      lookupFailing = true;
    },
  });
}

function serverOptions(config: ProxyConfig): ServerOptions {
  return {
    // Slow clients (or many that hold connections open on purpose) must not
    // tie the proxy up forever: the headers must be in within
    // HEADERS_TIMEOUT_MS, the whole request, body included, within
    // REQUEST_TIMEOUT_MS; then the client gets a 408 (proxy-answers.ts).
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    // How often Node looks for such requests (by default every 30 s): a
    // late request is answered at most a second after its time is up.
    connectionsCheckingInterval: 1_000,
    // We check Host ourselves (refusedWithoutHost), to answer in JSON.
    requireHostHeader: false,
  };
}

/** GET /__lb: every replica with its state and counts. */
function showPool(res: ServerResponse, pool: ReplicaPool, config: ProxyConfig): void {
  const replicas = pool.list().map(({ address, name, state, requests, failures, lastError }) => {
    return { address, name, state, requests, failures, lastError };
  });
  // Indented: people read this one (curl http://localhost:8080/__lb).
  reply(res, 200, { upstream: `${config.upstreamHost}:${config.upstreamPort}`, replicas }, 2);
}
