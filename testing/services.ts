// Throwaway Redis and PostgreSQL servers for the tests: real servers, started
// from the binaries of Debian's `redis-server` and `postgresql` packages (or
// Homebrew's), each on a free loopback port with its own temporary folder.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const INSTALL_HINT =
  'The tests need real Redis and PostgreSQL servers. Either install them ' +
  '(Debian/Ubuntu: `sudo apt-get install redis-server postgresql`; macOS: `brew install redis postgresql`) ' +
  'so that the tests can start throwaway ones, or set REDIS_URL and DATABASE_URL to servers of your own.';

export class MissingServerError extends Error {
  constructor(what: string) {
    super(`${what} not found. ${INSTALL_HINT}`);
  }
}

/** A server process that a test can stop and start again on the same port. */
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

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---------------------------------------------------------------- Redis

export function redisBinary(): string | undefined {
  return findOnPath('redis-server') ?? ['/usr/bin/redis-server'].find(existsSync);
}

export async function startRedis(): Promise<TestServer> {
  const binary = redisBinary();
  if (!binary) throw new MissingServerError('redis-server');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'workshop-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  return startManaged({
    name: `redis-server on port ${port}`,
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    spawn: () => spawnServer(binary, args),
    ready: () => redisPing(port),
    stopSignal: 'SIGTERM',
  });
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

export function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN && existsSync(join(process.env.PG_BIN, 'postgres'))) return process.env.PG_BIN;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debian, versions[0], 'bin');
  }
  const onPath = findOnPath('postgres');
  return onPath ? join(onPath, '..') : undefined;
}

/**
 * PostgreSQL refuses to run as root. When the tests run as root (CI, a
 * container) the server runs as the `postgres` user that the package created.
 */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    return { uid, gid };
  } catch {
    throw new Error(
      `Running as root, and there is no \`postgres\` user to run PostgreSQL as. ${INSTALL_HINT}`,
    );
  }
}

/**
 * An empty cluster made by initdb. initdb takes a second or two, so global
 * setup makes one template and each server starts from a copy of it.
 */
export function createPostgresTemplate(): string {
  const bin = postgresBinDir();
  if (!bin) throw new MissingServerError('PostgreSQL (initdb, postgres)');
  const dir = mkdtempSync(join(tmpdir(), 'workshop-pg-template-'));
  const data = join(dir, 'data');
  const user = postgresUser();
  if (user) execFileSync('chown', [`${user.uid}:${user.gid}`, dir]);
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale'],
    {
      stdio: 'pipe',
      ...user,
    },
  );
  return data;
}

export async function startPostgres(template = process.env.WORKSHOP_PG_TEMPLATE): Promise<TestServer> {
  const bin = postgresBinDir();
  if (!bin) throw new MissingServerError('PostgreSQL (initdb, postgres)');
  const ownTemplate = !template;
  const source = template ?? createPostgresTemplate();
  const user = postgresUser();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'workshop-pg-'));
  const data = join(dir, 'data');
  execFileSync('cp', ['-a', source, data]);
  if (user) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
  if (ownTemplate) rmSync(join(source, '..'), { recursive: true, force: true });
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'fsync=off',
    '-c',
    'max_connections=200',
  ];
  return startManaged({
    name: `postgres on port ${port}`,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    spawn: () => spawnServer(join(bin, 'postgres'), args, user),
    ready: () => postgresReady(port),
    // SIGINT is PostgreSQL's "fast shutdown": it disconnects clients and exits.
    stopSignal: 'SIGINT',
  });
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

// ---------------------------------------------------------------- processes

interface ManagedServer {
  name: string;
  url: string;
  port: number;
  /** The server's own folder, removed by destroy(). */
  dir: string;
  spawn(): ChildProcess;
  ready(): Promise<boolean>;
  stopSignal: NodeJS.Signals;
}

/** Starts a server and gives it the stop/start/destroy of TestServer. */
async function startManaged(server: ManagedServer): Promise<TestServer> {
  let child: ChildProcess | undefined;
  const start = async () => {
    child = server.spawn();
    await waitUntil(server.name, child, server.ready);
  };
  const stop = async () => {
    if (child) await stopProcess(child, server.stopSignal);
    child = undefined;
  };
  await start();
  return {
    url: server.url,
    port: server.port,
    start,
    stop,
    destroy: async () => {
      await stop();
      rmSync(server.dir, { recursive: true, force: true });
    },
  };
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

const running = new Set<ChildProcess>();
// If the test process dies without teardown, take the servers with it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function spawnServer(binary: string, args: string[], user?: { uid: number; gid: number }): ChildProcess {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], ...user });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  Object.defineProperty(child, 'recentOutput', { get: () => output });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

async function waitUntil(what: string, child: ChildProcess, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await ready()) return;
    await sleep(50);
  }
  child.kill('SIGKILL');
  const output = (child as unknown as { recentOutput: string }).recentOutput;
  throw new Error(`${what} did not start:\n${output}`);
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
