// The load balancer: `node src/proxy.ts`, from the same image as the web
// service. It finds the web replicas through DNS (proxy-discovery.ts), takes turns
// among the healthy ones (proxy-replicas.ts), forwards each request and retries it
// on another replica when one fails (proxy-forward.ts, proxy-retry.ts), asks every
// replica how it is (proxy-health.ts), and answers what it cannot forward in JSON
// (proxy-answers.ts). GET /__lb shows its view of things.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkToken, publicKey } from './auth.ts';
import { loadProxyConfigOrExit } from './config.ts';
import { answerClientErrors, refusedWithoutHost, reply } from './proxy-answers.ts';
import { startDiscovery } from './proxy-discovery.ts';
import { Forwarder } from './proxy-forward.ts';
import { startHealthChecks } from './proxy-health.ts';
import { type Replica, ReplicaPool } from './proxy-replicas.ts';

const config = loadProxyConfigOrExit();
const pool = new ReplicaPool();

// One line when something changes, for the logs (docker compose logs proxy).
const whom = (replica: Replica) => `replica ${replica.address} (${replica.name ?? 'name not known yet'})`;
const events = {
  onDown: (replica: Replica, reason: string) => console.log(`${whom(replica)} is down: ${reason}`),
  onUp: (replica: Replica) => console.log(`${whom(replica)} is up again`),
  onDraining: (replica: Replica) => console.log(`${whom(replica)} is draining: out of the rotation`),
};
let lookupFailing = false;

const discovery = startDiscovery({
  host: config.upstreamHost,
  port: config.upstreamPort,
  servers: config.upstreamDns,
  intervalMs: config.resolveIntervalMs,
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
const health = startHealthChecks(pool, {
  intervalMs: config.healthIntervalMs,
  timeoutMs: Math.min(config.proxyTimeoutMs, 2_000),
  onUp: events.onUp,
  onDraining: events.onDraining,
});
const forwarder = new Forwarder(pool, config, events);

const lbKey = await publicKey(config.auth.publicKey);
const server = createServer(
  {
    // Slow clients (or many that hold connections open on purpose) must not
    // tie the proxy up forever: the headers must be in within
    // HEADERS_TIMEOUT_MS, the whole request, body included, within
    // REQUEST_TIMEOUT_MS; then the client gets a 408 (proxy-answers.ts).
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    // How often Node looks for such requests (by default every 30 s): a
    // late request is answered at most a second after its time is up.
    connectionsCheckingInterval: 1_000,
    // We check Host ourselves (below), to answer in JSON.
    requireHostHeader: false,
  },
  handle,
);
answerClientErrors(server, config);

async function handle(req: IncomingMessage, res: ServerResponse) {
  if (refusedWithoutHost(req, res)) return;
  if (req.method === 'GET' && req.url?.split('?')[0] === '/__lb') {
    // The proxy's view of the cluster is for the operator: a token with the scope dashboard.
    const refused = await checkToken(lbKey, config.auth, 'dashboard', req.headers.authorization);
    if (refused) return reply(res, refused.status, { error: refused.message, reason: refused.reason });
    const replicas = pool.list().map(({ address, name, state, requests, failures, lastError }) => {
      return { address, name, state, requests, failures, lastError };
    });
    // Indented: people read this one (curl http://localhost:8080/__lb).
    return reply(res, 200, { upstream: `${config.upstreamHost}:${config.upstreamPort}`, replicas }, 2);
  }
  forwarder.forward(req, res);
}

await discovery.refresh();
server.listen(config.port, config.host, () => {
  console.log(`listening on port ${(server.address() as AddressInfo).port}`);
});

// `docker compose stop` sends SIGTERM, Ctrl-C sends SIGINT. Either way: stop
// taking new connections, let the requests in flight finish, then exit 0.
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));

function shutdown(signal: string): void {
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
}
