// A replica that failed is out of the rotation; this loop lets it back in.
// Every interval it asks each replica that is down for GET /healthz, on a
// fresh connection, and puts it back as soon as it answers. Any answer counts:
// the process is alive and talks HTTP. (A 503 because Redis is down would be
// the same on every replica, and the replica explains that better than the
// proxy could.) Replicas that are up are not probed: real requests show soon
// enough when one of them fails.
import { request } from 'node:http';
import type { Replica, ReplicaPool } from './balancer.ts';

export interface HealthOptions {
  intervalMs: number;
  /** How long a probe may take; a replica that hangs stays down. */
  timeoutMs: number;
  onUp: (replica: Replica) => void;
}

export function startHealthChecks(pool: ReplicaPool, options: HealthOptions): { stop(): void } {
  const probing = new Set<Replica>();

  const timer = setInterval(() => {
    for (const replica of pool.list()) {
      if (replica.state !== 'down' || probing.has(replica)) continue;
      probing.add(replica);
      probe(replica, options.timeoutMs).then((name) => {
        probing.delete(replica);
        if (name !== undefined && pool.has(replica) && pool.succeeded(replica, name)) options.onUp(replica);
      });
    }
  }, options.intervalMs);

  return { stop: () => clearInterval(timer) };
}

/** Resolves with the replica's X-Served-By ('' if none) when it answers, undefined when it does not. */
function probe(replica: Replica, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({
      host: replica.host,
      port: replica.port,
      path: '/healthz',
      agent: false,
      timeout: timeoutMs,
    });
    req.on('response', (res) => {
      res.resume();
      resolve(String(res.headers['x-served-by'] ?? ''));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
