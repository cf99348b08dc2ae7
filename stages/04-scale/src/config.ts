import { hostname } from 'node:os';

// Every setting comes from the environment, so the same image runs on a laptop,
// in compose and in the tests. The defaults are the values that work in compose.
export interface Config {
  /** The TCP port the HTTP server listens on (0 picks a free one, handy in tests). */
  port: number;
  /**
   * How long a stopping replica keeps serving, its /healthz saying "draining",
   * before it closes its listener: longer than the proxy takes to notice
   * (HEALTH_INTERVAL_MS, 1 s, plus the probe's answer) and take it out of the
   * rotation. Then it has shutdownTimeoutMs for the requests still in
   * flight; the two together stay under the 10 s that `docker compose stop`
   * waits before it kills the container.
   */
  drainMs: number;
  /** How long a shutdown may wait for in-flight requests before it cuts them off. */
  shutdownTimeoutMs: number;
  /** Where Redis is. In compose, `redis` is the service name, which is also its host name. */
  redisUrl: string;
  /** Where Postgres is, with the user, password and database to use. */
  databaseUrl: string;
  /** The largest request body the records API reads, like `100kb` (what is bigger gets a 413). */
  bodyLimit: string;
  /**
   * How long migrate waits for Postgres to take a connection before it gives
   * up: on a busy laptop, Postgres can need a while even after its healthcheck.
   */
  migrateWaitMs: number;
  /** The name this replica gives in X-Served-By. In Docker, the hostname is the container id. */
  replicaName: string;
}

/** A setting that cannot be used. loadConfigOrExit() prints the message and exits. */
export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: readInteger(env, 'PORT', 8080, 0, 65535),
    // 3 s: the proxy notices within about 1 s; the rest is for a busy laptop.
    drainMs: readInteger(env, 'DRAIN_MS', 3_000, 0, 600_000),
    // 5 s: 3 s of draining + 5 s < the 10 s before Docker sends SIGKILL.
    shutdownTimeoutMs: readInteger(env, 'SHUTDOWN_TIMEOUT_MS', 5_000, 0, 600_000),
    redisUrl: readUrl(env, 'REDIS_URL', 'redis://redis:6379', ['redis:', 'rediss:']),
    databaseUrl: readUrl(env, 'DATABASE_URL', 'postgres://workshop:workshop@db:5432/workshop', [
      'postgres:',
      'postgresql:',
    ]),
    bodyLimit: readSize(env, 'BODY_LIMIT', '100kb'),
    migrateWaitMs: readInteger(env, 'MIGRATE_WAIT_MS', 60_000, 0, 3_600_000),
    replicaName: readText(env, 'REPLICA_NAME', hostname()),
  };
}

/** For the entry points (server.ts, migrate.ts): the config, or a message and exit 1. */
export function loadConfigOrExit(): Config {
  return orExit(loadConfig);
}

/** For every program's entry point: its config, or a message and exit 1. */
export function orExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`Configuration error: ${err.message}`);
    process.exit(1);
  }
}

export function readInteger(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function readText(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  return env[name]?.trim() || fallback;
}

function readUrl(env: NodeJS.ProcessEnv, name: string, fallback: string, protocols: string[]): string {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const url = URL.parse(raw);
  if (url && protocols.includes(url.protocol) && url.hostname !== '') return raw;
  const schemes = protocols.map((protocol) => `${protocol}//`).join(' or ');
  throw new ConfigError(`${name} must be a URL that starts with ${schemes}, got "${withoutPassword(raw)}"`);
}

function readSize(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (/^\d+(b|kb|mb)$/i.test(raw)) return raw;
  throw new ConfigError(`${name} must be a size like 100kb or 1mb, got "${raw}"`);
}

// Error messages end up in logs: they never repeat a password.
function withoutPassword(raw: string): string {
  const url = URL.parse(raw);
  if (!url?.password) return raw;
  url.password = '***';
  return url.toString();
}
