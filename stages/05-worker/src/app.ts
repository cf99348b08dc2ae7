import { hostname } from 'node:os';
import express from 'express';
import type { Redis } from 'ioredis';
import type { Database } from './db.ts';
import { errorHandler, notFound } from './errors.ts';
import type { ArchiveQueue } from './queue.ts';
import { recordsRouter } from './records.ts';
import { archiveStatusRouter } from './records-archive.ts';
import { redisUnavailable } from './redis.ts';

/** The connections the app works with; server.ts opens them, tests bring their own. */
export interface Dependencies {
  redis: Redis;
  db: Database;
  /** Where POST /records puts the archive job of a new record. */
  archive: ArchiveQueue;
  /** The largest body POST /records reads (BODY_LIMIT). */
  bodyLimit?: string;
  /** The name in X-Served-By (REPLICA_NAME); by default the hostname, in Docker the container id. */
  replicaName?: string;
  /** True once the replica is stopping (server.ts, on SIGTERM): it drains. */
  isDraining?: () => boolean;
}

export function createApp({
  redis,
  db,
  archive,
  bodyLimit = '100kb',
  replicaName = hostname(),
  isDraining = () => false,
}: Dependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');

  // Several copies (replicas) of this app run behind the load balancer. Every
  // response says which one answered it, errors included.
  app.use((_req, res, next) => {
    res.set('X-Served-By', replicaName);
    // A replica that drains closes each connection after its answer, so that
    // none is left open for the proxy to send the next request on while we close it.
    if (isDraining()) res.set('Connection', 'close');
    next();
  });

  app.get('/', async (_req, res) => {
    // INCR adds one and returns the new value in a single step inside Redis,
    // so two requests at the same moment can never both read 4 and write 5.
    const hits = await redis.incr('hits').catch(redisUnavailable);
    res.type('text/plain').send(`I have been seen ${hits} times (replica ${replicaName}).\n`);
  });

  app.use(recordsRouter(db, archive, bodyLimit));
  app.use(archiveStatusRouter(db, archive));

  // Docker's healthcheck (see compose.yaml) and the checks ask this route.
  // Each dependency gets a quick question; any "down" makes the answer a 503.
  const checks = {
    redis: () => redis.ping(),
    db: () => db.ping(),
  };
  app.get('/healthz', async (_req, res) => {
    // Stopping: the proxy takes this replica out of the rotation when it reads this.
    if (isDraining()) {
      res.status(503).json({ status: 'draining', error: `Replica ${replicaName} is stopping` });
      return;
    }
    const entries = Object.entries(checks);
    const states = await Promise.all(entries.map(([, check]) => stateOf(check)));
    const dependencies = Object.fromEntries(entries.map(([name], i) => [name, states[i]]));
    const ok = states.every((state) => state === 'up');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', dependencies });
  });

  app.use(notFound);
  app.use(errorHandler);
  return app;
}

async function stateOf(check: () => Promise<unknown>): Promise<'up' | 'down'> {
  try {
    await check();
    return 'up';
  } catch {
    return 'down';
  }
}
