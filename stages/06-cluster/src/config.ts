import { hostname } from 'node:os';
import { readSecretFile, withPasswordFrom } from './secrets.ts';

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
  /** How often the worker tries an archive job before it counts as failed (and the reconciler retries it). */
  archiveAttempts: number;
  /** The wait before the first retry of a failed archive job; it doubles with each retry, up to a cap. */
  archiveBackoffMs: number;
  /** Who checks the tokens of POST /records. */
  auth: AuthConfig;
}

/** The tokens that web and the dashboard accept (src/auth.ts). */
export interface AuthConfig {
  /** The Ed25519 public key (PEM), from the file JWT_PUBLIC_KEY_FILE: a Docker secret. */
  publicKey: string;
  /** The `iss` a token must carry: who made it. */
  issuer: string;
  /** The `aud` a token must carry: the system it is for. */
  audience: string;
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
    redisUrl: readRedisUrl(env),
    databaseUrl: readDatabaseUrl(env),
    bodyLimit: readSize(env, 'BODY_LIMIT', '100kb'),
    migrateWaitMs: readInteger(env, 'MIGRATE_WAIT_MS', 60_000, 0, 3_600_000),
    replicaName: readText(env, 'REPLICA_NAME', hostname()),
    archiveAttempts: readInteger(env, 'ARCHIVE_ATTEMPTS', 20, 1, 100),
    archiveBackoffMs: readInteger(env, 'ARCHIVE_BACKOFF_MS', 1000, 0, 3_600_000),
    auth: readAuth(env),
  };
}

// No default key: a service that would accept any token, or none, must not start.
export function readAuth(env: NodeJS.ProcessEnv): AuthConfig {
  const publicKey = readSecretFile(env, 'JWT_PUBLIC_KEY');
  if (!publicKey?.includes('BEGIN PUBLIC KEY')) {
    throw new ConfigError(
      'JWT_PUBLIC_KEY_FILE must name a PEM file with the Ed25519 public key (the secret jwt-public-key; ' +
        'make it with `npm run token -- --keys`)',
    );
  }
  return {
    publicKey,
    issuer: readText(env, 'JWT_ISSUER', 'workshop-operator'),
    audience: readText(env, 'JWT_AUDIENCE', 'workshop'),
  };
}

// Several programs read these two: one place for their names and defaults.
// The passwords come from files (REDIS_PASSWORD_FILE, DATABASE_PASSWORD_FILE: Docker secrets).
export function readRedisUrl(env: NodeJS.ProcessEnv): string {
  const url = readUrl(env, 'REDIS_URL', 'redis://redis:6379', ['redis:', 'rediss:']);
  return withPasswordFrom(env, 'REDIS_PASSWORD', url);
}

export function readDatabaseUrl(env: NodeJS.ProcessEnv): string {
  const url = readUrl(env, 'DATABASE_URL', 'postgres://workshop@db:5432/workshop', [
    'postgres:',
    'postgresql:',
  ]);
  return withPasswordFrom(env, 'DATABASE_PASSWORD', url);
}

/** For the entry points (server.ts, migrate.ts): the config, or a message and exit 1. */
export function loadConfigOrExit(): Config {
  return orExit(loadConfig);
}

/** For src/migrate.ts: the database alone (it needs no key to check tokens with). */
export function loadMigrateConfigOrExit(): Pick<Config, 'databaseUrl' | 'migrateWaitMs'> {
  return orExit(() => ({
    databaseUrl: readDatabaseUrl(process.env),
    migrateWaitMs: readInteger(process.env, 'MIGRATE_WAIT_MS', 60_000, 0, 3_600_000),
  }));
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

export function readPath(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (raw.startsWith('/')) return raw;
  throw new ConfigError(`${name} must be an absolute path like ${fallback}, got "${raw}"`);
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
