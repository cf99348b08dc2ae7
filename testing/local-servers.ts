// The fast path of services.ts: Redis and PostgreSQL started from binaries
// installed on this machine (Debian's `redis-server` and `postgresql` packages,
// Homebrew's, or any on PATH), each on a free loopback port with its own
// temporary folder.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerSpec, TestServer } from './services.ts';

// ---------------------------------------------------------------- where the binaries are

export function redisBinary(): string | undefined {
  return findOnPath('redis-server');
}

/** The folder of `postgres` and `initdb`: PG_BIN, Debian's versioned folder, or PATH. */
export function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN && findIn(process.env.PG_BIN, 'postgres')) return process.env.PG_BIN;
  // Debian and Ubuntu keep the server outside PATH, one folder per major version.
  const debian = '/usr/lib/postgresql';
  if (process.platform === 'linux' && existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debian, versions[0], 'bin');
  }
  const onPath = findOnPath('postgres');
  return onPath ? dirname(onPath) : undefined;
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const found = dir ? findIn(dir, name) : undefined;
    if (found) return found;
  }
  return undefined;
}

/** `dir/name`, or on Windows `dir/name.exe`, if it exists. */
function findIn(dir: string, name: string): string | undefined {
  const names = process.platform === 'win32' ? [`${name}.exe`, name] : [name];
  return names.map((n) => join(dir, n)).find((path) => existsSync(path));
}

// ---------------------------------------------------------------- Redis

export async function startLocalRedis(spec: ServerSpec): Promise<TestServer> {
  const binary = redisBinary() as string;
  const dir = mkdtempSync(join(tmpdir(), 'workshop-redis-'));
  const args = [
    '--port',
    String(spec.port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  return startManaged(spec, dir, () => spawnServer(binary, args), 'SIGTERM');
}

// ---------------------------------------------------------------- PostgreSQL

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
    throw new Error('Running as root, and there is no `postgres` user to run PostgreSQL as.');
  }
}

function chownTree(path: string, user: { uid: number; gid: number }): void {
  chownSync(path, user.uid, user.gid);
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    chownSync(join(entry.parentPath, entry.name), user.uid, user.gid);
  }
}

/**
 * An empty cluster made by initdb. initdb takes a second or two, so global
 * setup makes one template and each server starts from a copy of it.
 */
export function createPostgresTemplate(): string {
  const bin = postgresBinDir() as string;
  const dir = mkdtempSync(join(tmpdir(), 'workshop-pg-template-'));
  const data = join(dir, 'data');
  const user = postgresUser();
  if (user) chownSync(dir, user.uid, user.gid);
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale'],
    { stdio: 'pipe', ...user },
  );
  return data;
}

export async function startLocalPostgres(
  spec: ServerSpec,
  template: string | undefined,
): Promise<TestServer> {
  const bin = postgresBinDir() as string;
  const ownTemplate = !template;
  const source = template ?? createPostgresTemplate();
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'workshop-pg-'));
  const data = join(dir, 'data');
  cpSync(source, data, { recursive: true });
  // PostgreSQL refuses a data folder that others may read, and not every Node
  // release's cpSync keeps the folder's own mode.
  chmodSync(data, 0o700);
  if (user) chownTree(dir, user);
  if (ownTemplate) rmSync(dirname(source), { recursive: true, force: true });
  const args = [
    '-D',
    data,
    '-p',
    String(spec.port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'fsync=off',
    '-c',
    'max_connections=200',
  ];
  // SIGINT is PostgreSQL's "fast shutdown": it disconnects clients and exits.
  return startManaged(spec, dir, () => spawnServer(join(bin, 'postgres'), args, user), 'SIGINT');
}

// ---------------------------------------------------------------- processes

/** Starts a server process and gives it the stop/start/destroy of TestServer. */
async function startManaged(
  spec: ServerSpec,
  dir: string,
  spawnIt: () => ChildProcess,
  stopSignal: NodeJS.Signals,
): Promise<TestServer> {
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawnIt();
    await waitUntil(spec, child);
  };
  const stop = async () => {
    if (child) await stopProcess(child, stopSignal);
    child = undefined;
  };
  await start();
  return {
    url: spec.url,
    port: spec.port,
    start,
    stop,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
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

async function waitUntil(spec: ServerSpec, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await spec.ready()) return;
    await sleep(50);
  }
  child.kill('SIGKILL');
  const output = (child as unknown as { recentOutput: string }).recentOutput;
  throw new Error(`${spec.name} did not start:\n${output}`);
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
