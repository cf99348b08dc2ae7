// The load balancer: `node src/proxy.ts`, from the same image as the web
// service. It finds the web replicas through DNS (discovery.ts), takes turns
// among the healthy ones (balancer.ts), forwards each request and retries it
// on another replica when one fails (forward.ts), and lets failed replicas
// back in once they answer (health.ts). GET /__lb shows its view of things.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkToken, publicKey } from './auth.ts';
import { type Replica, ReplicaPool } from './balancer.ts';
import { loadProxyConfigOrExit } from './config.ts';
import { startDiscovery } from './discovery.ts';
import { createForwarder, reply } from './forward.ts';
import { startHealthChecks } from './health.ts';

const config = loadProxyConfigOrExit();
const pool = new ReplicaPool();

// One line when something changes, for the logs (docker compose logs proxy).
const whom = (replica: Replica) => `replica ${replica.address} (${replica.name ?? 'name not known yet'})`;
const events = {
  onDown: (replica: Replica, reason: string) => console.log(`${whom(replica)} is down: ${reason}`),
  onUp: (replica: Replica) => console.log(`${whom(replica)} is up again`),
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
});
const forwarder = createForwarder(pool, config, events);

const lbKey = await publicKey(config.auth.publicKey);
const server = createServer(async (req, res) => {
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
});

await discovery.refresh();
server.listen(config.port, config.host, () => {
  console.log(`listening on http://localhost:${(server.address() as AddressInfo).port}`);
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
    forwarder.close();
    console.log('stopped');
    process.exit(0);
  });
  // A keep-alive connection turns idle once its last response is out: close
  // those as they appear, instead of waiting for the client to hang up.
  setInterval(() => server.closeIdleConnections(), 100).unref();
  // A client that never finishes its request must not keep us alive forever.
  setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs).unref();
}
