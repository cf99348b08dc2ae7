// Throwaway Redis and PostgreSQL servers for the tests: real servers, each on
// a free loopback port, which a test may stop and start again. They come from
// the binaries installed on this machine when there are any (fast, see
// local-servers.ts), otherwise from containers of the images the stages use
// (docker-servers.ts). TEST_SERVICES=local or TEST_SERVICES=docker picks one.
import { createServer } from 'node:net';
import { dockerAnswers, startDockerPostgres, startDockerRedis } from './docker-servers.ts';
import {
  createPostgresTemplate,
  postgresBinDir,
  redisBinary,
  startLocalPostgres,
  startLocalRedis,
} from './local-servers.ts';

export { createPostgresTemplate, postgresBinDir };

const INSTALL_HINT =
  'The tests need real Redis and PostgreSQL servers. Start the Docker engine (the tests then run ' +
  'redis:7-bookworm and postgres:17-bookworm containers), or install the servers ' +
  '(Debian/Ubuntu: `sudo apt-get install redis-server postgresql`; macOS: `brew install redis postgresql`), ' +
  'or set REDIS_URL and DATABASE_URL to servers of your own.';

export class MissingServerError extends Error {
  constructor(what: string) {
    super(`${what} not found, and the Docker engine does not answer. ${INSTALL_HINT}`);
  }
}

/** A server that a test can stop and start again on the same port. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server cleanly and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again (same port, same data) after stop(). */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>;
}

/** What both ways of starting a server need to know about it. */
export interface ServerSpec {
  /** For messages: "redis-server on port 41234". */
  readonly name: string;
  readonly url: string;
  readonly port: number;
  /** True once the server answers on its port. */
  ready(): Promise<boolean>;
}

export type ServerSource = 'local' | 'docker';

/** Where `service`'s test servers come from on this machine. */
export function serverSource(service: 'redis' | 'postgres'): ServerSource {
  const chosen = process.env.TEST_SERVICES;
  if (chosen === 'local' || chosen === 'docker') return chosen;
  if (chosen) throw new Error(`TEST_SERVICES must be local or docker (or unset), not "${chosen}".`);
  const installed = service === 'redis' ? redisBinary() : postgresBinDir();
  return installed ? 'local' : 'docker';
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A port that stays free for as long as a test holds on to it, not only for
 * the next moment. freePort() answers from the kernel's ephemeral range
 * (32768-60999 on Linux), the one the local ends of outgoing connections come
 * from too: a port a test keeps for later (a replica started in the middle of
 * the test) can be taken by any connection in between (EADDRINUSE). Ports
 * below that range are only ever taken by a listen.
 */
export async function heldPort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
  throw new Error('no free port between 20000 and 32000 in 100 tries');
}

// ---------------------------------------------------------------- Redis

export async function startRedis(): Promise<TestServer> {
  const port = await freePort();
  const spec: ServerSpec = {
    name: `redis-server on port ${port}`,
    url: `redis://127.0.0.1:${port}`,
    port,
    ready: () => redisPing(port),
  };
  if (serverSource('redis') === 'local') {
    if (!redisBinary()) throw new MissingServerError('redis-server');
    return startLocalRedis(spec);
  }
  if (!(await dockerAnswers())) throw new MissingServerError('redis-server');
  return startDockerRedis(spec);
}

/** PING over a raw socket: true once the server answers PONG. */
async function redisPing(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500, () => socket.destroy());
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.end();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

// ---------------------------------------------------------------- PostgreSQL

/**
 * `template` is a data folder made by createPostgresTemplate() (global setup
 * makes one when the servers are local); containers make their own.
 */
export async function startPostgres(template = process.env.WORKSHOP_PG_TEMPLATE): Promise<TestServer> {
  const port = await freePort();
  const spec: ServerSpec = {
    name: `postgres on port ${port}`,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    ready: () => postgresReady(port),
  };
  if (serverSource('postgres') === 'local') {
    if (!postgresBinDir()) throw new MissingServerError('PostgreSQL (initdb, postgres)');
    return startLocalPostgres(spec, template);
  }
  if (!(await dockerAnswers())) throw new MissingServerError('PostgreSQL (initdb, postgres)');
  return startDockerPostgres(spec);
}

async function postgresReady(port: number): Promise<boolean> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
