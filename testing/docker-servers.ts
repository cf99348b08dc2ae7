// The Docker path of services.ts: Redis and PostgreSQL as containers of the
// very images the stages' compose files use, driven with the `docker` command
// that comes with every Docker installation.
//
// A container's host port is the free port services.ts chose, published on
// 127.0.0.1, so `docker stop` and `docker start` bring the same server back on
// the same port with the same data (a test's outage). Every container carries
// the label of this test run; docker-reaper.ts removes them all once the
// process that started the run is gone, even after a Ctrl-C or a crash.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { ServerSpec, TestServer } from './services.ts';
import { repoRoot } from './stage-process.ts';

export const REDIS_IMAGE = 'redis:7-bookworm';
export const POSTGRES_IMAGE = 'postgres:17-bookworm';
/** The label key on every test container; its value names the run. */
export const RUN_LABEL = 'workshop.test-run';

const run = promisify(execFile);

async function docker(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('docker', args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  } catch (err) {
    const { stderr, message } = err as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(' ')} failed: ${stderr?.trim() || message}`);
  }
}

let answers: Promise<boolean> | undefined;
/** True when a Docker engine answers (asked once per process). */
export function dockerAnswers(): Promise<boolean> {
  answers ??= docker('version', '--format', '{{.Server.Version}}').then(
    () => true,
    () => false,
  );
  return answers;
}

export function startDockerRedis(spec: ServerSpec): Promise<TestServer> {
  // Nothing on disk: the outage tests need the server back, not its keys.
  return startContainer(spec, [
    '-p',
    `127.0.0.1:${spec.port}:6379`,
    REDIS_IMAGE,
    'redis-server',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
}

export async function startDockerPostgres(spec: ServerSpec): Promise<TestServer> {
  return startContainer(spec, [
    '-p',
    `127.0.0.1:${spec.port}:5432`,
    await postgresTemplateImage(),
    '-c',
    'fsync=off',
    '-c',
    'max_connections=200',
  ]);
}

// The image's first start runs initdb, which takes a minute on a busy laptop.
// So, like the local path's template folder, the run makes it once: a
// container initializes a cluster inside its own file system (PGDATA outside
// the image's volume), stops, and becomes an image of this run; every server
// then starts from a copy of that cluster in seconds. Global setup makes it and
// passes it on to the test workers in WORKSHOP_PG_IMAGE.
let template: Promise<string> | undefined;
export function postgresTemplateImage(): Promise<string> {
  const made = process.env.WORKSHOP_PG_IMAGE;
  if (made) return Promise.resolve(made);
  template ??= makePostgresTemplateImage().then((image) => {
    process.env.WORKSHOP_PG_IMAGE = image;
    return image;
  });
  return template;
}

async function makePostgresTemplateImage(): Promise<string> {
  const label = runLabel();
  const image = `workshop-test-postgres:${label.split('=')[1]}`;
  const id = await docker(
    'run',
    '--detach',
    '--pull',
    'missing',
    '--label',
    label,
    '-e',
    'PGDATA=/var/lib/postgresql/cluster',
    // The tests connect as `postgres` without a password, as on the local path.
    '-e',
    'POSTGRES_HOST_AUTH_METHOD=trust',
    '-e',
    'POSTGRES_INITDB_ARGS=--no-sync',
    POSTGRES_IMAGE,
  );
  ours.add(id);
  try {
    // Ready on TCP means initdb and the image's set-up are done (the set-up's
    // own server listens on its socket only).
    const deadline = Date.now() + 180_000;
    while (
      !(await run('docker', ['exec', id, 'pg_isready', '-q', '-h', '127.0.0.1']).then(
        () => true,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not finish initdb in ${POSTGRES_IMAGE}`);
      await sleep(200);
    }
    await docker('stop', '--time', '30', id);
    await docker('commit', '--change', `LABEL ${label}`, id, image);
    return image;
  } finally {
    await docker('rm', '--force', '--volumes', id).catch(() => {});
    ours.delete(id);
  }
}

/** Removes this run's template image (global teardown; the reaper does it after a Ctrl-C). */
export async function removePostgresTemplateImage(): Promise<void> {
  const image = process.env.WORKSHOP_PG_IMAGE;
  if (image) await docker('rmi', '--force', image).catch(() => {});
}

/** Containers this process started and has not removed yet. */
const ours = new Set<string>();
// A normal exit (also process.exit) removes them at once; the reaper is for the rest.
process.once('exit', () => {
  if (ours.size === 0) return;
  try {
    execFileSync('docker', ['rm', '--force', '--volumes', ...ours], { stdio: 'ignore' });
  } catch {}
});

async function startContainer(spec: ServerSpec, args: string[]): Promise<TestServer> {
  const name = `workshop-test-${spec.name.split(' ')[0]}-${spec.port}-${randomBytes(2).toString('hex')}`;
  // `--pull missing`: the image is downloaded once if this machine has never had it.
  const id = await docker(
    'run',
    '--detach',
    '--pull',
    'missing',
    '--name',
    name,
    '--label',
    runLabel(),
    ...args,
  );
  ours.add(id);
  const remove = async () => {
    await docker('rm', '--force', '--volumes', id);
    ours.delete(id);
  };
  const start = async () => {
    await waitUntilReady(spec, id).catch(async (err) => {
      await remove().catch(() => {});
      throw err;
    });
  };
  await start();
  return {
    url: spec.url,
    port: spec.port,
    // The image's stop signal: SIGTERM for Redis, SIGINT (a fast shutdown) for PostgreSQL.
    stop: async () => {
      await docker('stop', '--time', '10', id);
    },
    start: async () => {
      await docker('start', id);
      await start();
    },
    destroy: remove,
  };
}

async function waitUntilReady(spec: ServerSpec, id: string): Promise<void> {
  // A container's first start includes the image's own set-up (initdb for
  // PostgreSQL), so it gets longer than a local process.
  const deadline = Date.now() + 60_000;
  let checked = Date.now();
  while (Date.now() < deadline) {
    if (await spec.ready()) return;
    if (Date.now() - checked > 1000) {
      checked = Date.now();
      if ((await docker('inspect', '--format', '{{.State.Running}}', id)) !== 'true') break;
    }
    await sleep(100);
  }
  // The servers write their log to stderr, which `docker logs` passes through as stderr.
  const logs = await run('docker', ['logs', '--tail', '40', id]).then(
    ({ stdout, stderr }) => stdout + stderr,
    (err: Error) => err.message,
  );
  throw new Error(`${spec.name} (container ${id.slice(0, 12)}) did not start:\n${logs}`);
}

/**
 * This run's label, `workshop.test-run=<id>`. The first process of a run that
 * starts a container makes the id (test workers inherit it from jest through
 * the environment) and starts the reaper that watches that process.
 */
function runLabel(): string {
  if (!process.env.WORKSHOP_TEST_RUN) {
    const runId = `${process.pid}-${randomBytes(4).toString('hex')}`;
    process.env.WORKSHOP_TEST_RUN = runId;
    const reaper = join(repoRoot, 'testing', 'docker-reaper.ts');
    spawn(process.execPath, [reaper, String(process.pid), `${RUN_LABEL}=${runId}`], {
      detached: true,
      stdio: 'ignore',
      windowsHide: true,
    }).unref();
  }
  return `${RUN_LABEL}=${process.env.WORKSHOP_TEST_RUN}`;
}
