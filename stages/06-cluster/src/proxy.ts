// The load balancer: `node src/proxy.ts`, from the same image as the web
// service. It finds the web replicas through DNS (proxy-discovery.ts), takes
// turns among the healthy ones (proxy-replicas.ts), forwards each request and
// retries it on another replica when one fails (proxy-forward.ts,
// proxy-retry.ts), asks every replica how it is (proxy-health.ts), and
// answers what it cannot forward in JSON (proxy-answers.ts).
// proxy-server.ts puts these together.
import { loadProxyConfigOrExit } from './proxy-config.ts';
import { createProxy } from './proxy-server.ts';

const proxy = await createProxy(loadProxyConfigOrExit());

// `docker compose stop` sends SIGTERM, Ctrl-C sends SIGINT. Either way: stop
// taking new connections, let the requests in flight finish, then exit 0.
process.once('SIGTERM', () => proxy.shutdown('SIGTERM'));
process.once('SIGINT', () => proxy.shutdown('SIGINT'));

// Said last, once SIGTERM is ours to handle: a `docker compose stop` right
// after the "listening" line must find the handlers in place.
await proxy.listen();
