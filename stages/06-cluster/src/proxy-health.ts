// Every interval, the proxy asks each replica for GET /healthz, on a fresh
// connection, and acts on the answer:
// - "draining" (a 503 with `"status": "draining"`): the replica is stopping
//   (see server.ts). It still serves, but leaves the rotation now, before it
//   closes its connections: the requests go elsewhere in the meantime.
// - any other answer: the process is alive and talks HTTP, so a replica that
//   was down or draining is back in. (A 503 because Redis is down would be
//   the same on every replica, and the replica explains that better than the
//   proxy could.)
// - no answer: nothing changes. A replica that is up shows that it is gone
//   on the next real request (proxy-forward.ts); one that is down stays down.
import { request } from 'node:http';
import type { Replica, ReplicaPool } from './proxy-replicas.ts';

export interface HealthOptions {
  intervalMs: number;
  /** How long a probe may take; a replica that hangs stays down. */
  timeoutMs: number;
  onUp: (replica: Replica) => void;
  onDraining: (replica: Replica) => void;
}

interface ProbeAnswer {
  /** The replica's X-Served-By ('' if none). */
  name: string;
  draining: boolean;
}

export function startHealthChecks(pool: ReplicaPool, options: HealthOptions): { stop(): void } {
  const probing = new Set<Replica>();

  const judge = (replica: Replica, answer: ProbeAnswer) => {
    if (!pool.has(replica)) return; // gone from DNS meanwhile
    if (answer.draining) {
      if (pool.draining(replica)) options.onDraining(replica);
    } else if (pool.healthy(replica, answer.name)) {
      options.onUp(replica);
    }
  };

  const timer = setInterval(() => {
    for (const replica of pool.list()) {
      if (probing.has(replica)) continue; // the last probe has not finished yet
      probing.add(replica);
      probe(replica, options.timeoutMs).then((answer) => {
        probing.delete(replica);
        if (answer) judge(replica, answer);
      });
    }
  }, options.intervalMs);

  return { stop: () => clearInterval(timer) };
}

/** The replica's answer to GET /healthz, or undefined when it gives none in time. */
function probe(replica: Replica, timeoutMs: number): Promise<ProbeAnswer | undefined> {
  return new Promise((resolve) => {
    const req = request({
      host: replica.host,
      port: replica.port,
      path: '/healthz',
      agent: false,
      timeout: timeoutMs,
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        const name = String(res.headers['x-served-by'] ?? '');
        resolve({ name, draining: res.statusCode === 503 && statusOf(text) === 'draining' });
      });
      res.on('error', () => resolve(undefined));
      res.on('close', () => resolve(undefined)); // cut off before its end (after it: resolved already)
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** The `status` of a /healthz answer: "ok", "unavailable", "draining"... */
function statusOf(text: string): unknown {
  try {
    return JSON.parse(text).status;
  } catch {
    return undefined;
  }
}
