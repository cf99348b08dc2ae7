import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { readSecretFile, withPasswordFrom } from './secrets.ts';

// Every setting comes from the environment, so the same image runs on a laptop,
// in compose and in the tests. The defaults are the values that work in compose.
export interface Config {
  /** The TCP port the HTTP server listens on (0 picks a free one, handy in tests). */
  port: number;
  /** The address to listen on; empty means every address of the machine (of the container). */
  host: string;
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

// #region proxy-config
/** The load balancer (src/proxy.ts): the same image, another command, settings of its own. */
export interface ProxyConfig {
  port: number;
  host: string;
  shutdownTimeoutMs: number;
  /** The name that resolves to every replica: the compose service name. */
  upstreamHost: string;
  /** The port the replicas listen on (the same in every container). */
  upstreamPort: number;
  /** DNS servers to ask ("ip" or "ip:port"); none means the system's, which in compose is Docker's. */
  upstreamDns: string[];
  /** How often to ask DNS again, to notice replicas that came or went. */
  resolveIntervalMs: number;
  /** How often to ask every replica for /healthz: is it draining, is one that failed back? */
  healthIntervalMs: number;
  /** How long a replica may stay silent on a request before the client gets a 504. */
  proxyTimeoutMs: number;
  /** How long connecting to a replica may take before another one gets the request. */
  connectTimeoutMs: number;
  /** The largest request body the proxy takes (it holds bodies, so that it can send them again). */
  maxBodyBytes: number;
  /** How long a client may take to send the request's headers (408 after that). */
  headersTimeoutMs: number;
  /** How long a client may take to send the whole request, body included (408 after that). */
  requestTimeoutMs: number;
  /** GET /__lb takes a token with the scope dashboard. */
  auth: AuthConfig;
}
// #endregion proxy-config

// #region worker-config
/** The settings of the worker (src/worker.ts), which archives the records. */
export interface WorkerConfig {
  redisUrl: string;
  databaseUrl: string;
  /** How many jobs one worker process works on at the same time. */
  concurrency: number;
  /**
   * A pause before each step of a job, 0 in real life. A teaching knob: with
   * 2000 you can watch the progress climb, or stop a worker in the middle of a job.
   */
  stepDelayMs: number;
  /** How long a job's lock lasts; the worker renews it every half of that while it works. */
  lockDurationMs: number;
  /** How often the worker looks for jobs whose lock ran out: their worker is gone. */
  stalledIntervalMs: number;
  /** The file the worker touches while it is connected; its healthcheck reads the time of it. */
  heartbeatFile: string;
  /**
   * ARCHIVE_ATTEMPTS and ARCHIVE_BACKOFF_MS, as web reads them: the reconciler
   * adds jobs too, and they must get the same options as web's.
   */
  archiveAttempts: number;
  archiveBackoffMs: number;
  /** The longest wait between two tries of a job: the doubling stops there. */
  archiveBackoffMaxMs: number;
  /** How often the reconciler looks for records that wait for their archive and have no job that will run. */
  reconcileIntervalMs: number;
}
// #endregion worker-config

/** The settings of the dashboard (src/dashboard.ts). */
export interface DashboardConfig {
  port: number;
  redisUrl: string;
  shutdownTimeoutMs: number;
  auth: AuthConfig;
}

/** A setting that cannot be used. loadConfigOrExit() prints the message and exits. */
export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: readInteger(env, 'PORT', 8080, 0, 65535),
    host: readText(env, 'LISTEN_HOST', ''),
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

// #region load-proxy-config
export function loadProxyConfig(env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const config: ProxyConfig = {
    port: readInteger(env, 'PORT', 8080, 0, 65535),
    host: readText(env, 'LISTEN_HOST', ''),
    shutdownTimeoutMs: readInteger(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    upstreamHost: readText(env, 'UPSTREAM_HOST', 'web'),
    upstreamPort: readInteger(env, 'UPSTREAM_PORT', 8080, 1, 65535),
    upstreamDns: readDnsServers(env, 'UPSTREAM_DNS'),
    resolveIntervalMs: readInteger(env, 'RESOLVE_INTERVAL_MS', 2_000, 100, 600_000),
    healthIntervalMs: readInteger(env, 'HEALTH_INTERVAL_MS', 1_000, 100, 600_000),
    proxyTimeoutMs: readInteger(env, 'PROXY_TIMEOUT_MS', 10_000, 100, 600_000),
    connectTimeoutMs: readInteger(env, 'CONNECT_TIMEOUT_MS', 1_000, 100, 600_000),
    maxBodyBytes: readInteger(env, 'PROXY_MAX_BODY_BYTES', 1_048_576, 0, 1_073_741_824),
    // 10 s for the headers: a real client sends them at once, even from a
    // busy laptop; a client that trickles them in holds a connection open.
    headersTimeoutMs: readInteger(env, 'HEADERS_TIMEOUT_MS', 10_000, 1_000, 600_000),
    // 30 s for the whole request: a 1 MiB body (PROXY_MAX_BODY_BYTES) at a
    // slow 50 KiB/s still fits; a body that stops halfway does not.
    requestTimeoutMs: readInteger(env, 'REQUEST_TIMEOUT_MS', 30_000, 1_000, 600_000),
    auth: readAuth(env),
  };
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError(
      'HEADERS_TIMEOUT_MS must not be longer than REQUEST_TIMEOUT_MS: the headers are part of the request',
    );
  }
  return config;
}
// #endregion load-proxy-config

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return {
    redisUrl: readRedisUrl(env),
    databaseUrl: readDatabaseUrl(env),
    concurrency: readInteger(env, 'WORKER_CONCURRENCY', 2, 1, 100),
    stepDelayMs: readInteger(env, 'WORKER_STEP_DELAY_MS', 0, 0, 600_000),
    lockDurationMs: readInteger(env, 'WORKER_LOCK_DURATION_MS', 10_000, 1000, 600_000),
    stalledIntervalMs: readInteger(env, 'WORKER_STALLED_INTERVAL_MS', 5000, 500, 600_000),
    heartbeatFile: readPath(env, 'WORKER_HEARTBEAT_FILE', '/tmp/worker-heartbeat'),
    archiveAttempts: readInteger(env, 'ARCHIVE_ATTEMPTS', 20, 1, 100),
    archiveBackoffMs: readInteger(env, 'ARCHIVE_BACKOFF_MS', 1000, 0, 3_600_000),
    archiveBackoffMaxMs: readInteger(env, 'ARCHIVE_BACKOFF_MAX_MS', 30_000, 0, 3_600_000),
    reconcileIntervalMs: readInteger(env, 'RECONCILE_INTERVAL_MS', 10_000, 100, 3_600_000),
  };
}

export function loadDashboardConfig(env: NodeJS.ProcessEnv = process.env): DashboardConfig {
  return {
    port: readInteger(env, 'PORT', 3000, 0, 65535),
    redisUrl: readRedisUrl(env),
    shutdownTimeoutMs: readInteger(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    auth: readAuth(env),
  };
}

// No default key: a service that would accept any token, or none, must not start.
function readAuth(env: NodeJS.ProcessEnv): AuthConfig {
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

// Four programs read these two: one place for their names and defaults.
// The passwords come from files (REDIS_PASSWORD_FILE, DATABASE_PASSWORD_FILE: Docker secrets).
function readRedisUrl(env: NodeJS.ProcessEnv): string {
  const url = readUrl(env, 'REDIS_URL', 'redis://redis:6379', ['redis:', 'rediss:']);
  return withPasswordFrom(env, 'REDIS_PASSWORD', url);
}

function readDatabaseUrl(env: NodeJS.ProcessEnv): string {
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

/** For the load balancer, src/proxy.ts: the same, with its own settings. */
export function loadProxyConfigOrExit(): ProxyConfig {
  return orExit(loadProxyConfig);
}

/** For the worker, src/worker.ts, and its healthcheck. */
export function loadWorkerConfigOrExit(): WorkerConfig {
  return orExit(loadWorkerConfig);
}

/** For the dashboard, src/dashboard.ts. */
export function loadDashboardConfigOrExit(): DashboardConfig {
  return orExit(loadDashboardConfig);
}

function orExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`Configuration error: ${err.message}`);
    process.exit(1);
  }
}

function readInteger(
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

function readPath(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (raw.startsWith('/')) return raw;
  throw new ConfigError(`${name} must be an absolute path like ${fallback}, got "${raw}"`);
}

// #region url
function readText(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  return env[name]?.trim() || fallback;
}

function readDnsServers(env: NodeJS.ProcessEnv, name: string): string[] {
  const servers = readText(env, name, '')
    .split(',')
    .map((server) => server.trim())
    .filter((server) => server !== '');
  for (const server of servers) {
    const [ip = '', port] = server.split(':');
    if (isIP(ip) !== 4 || (port !== undefined && !/^\d{1,5}$/.test(port))) {
      throw new ConfigError(
        `${name} must be a comma-separated list of IPv4 addresses (ip or ip:port), got "${server}"`,
      );
    }
  }
  return servers;
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
// #endregion url
