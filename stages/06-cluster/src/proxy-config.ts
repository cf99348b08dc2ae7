// The load balancer's settings (src/proxy.ts): the same image as web, another
// command, settings of its own, read the same way (config.ts).
import { type AuthConfig, ConfigError, orExit, readAuth, readInteger, readText } from './config.ts';

export interface ProxyConfig {
  port: number;
  shutdownTimeoutMs: number;
  /** The name that resolves to every replica: the compose service name. */
  upstreamHost: string;
  /** The port the replicas listen on (the same in every container). */
  upstreamPort: number;
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

export function loadProxyConfig(env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const config: ProxyConfig = {
    port: readInteger(env, 'PORT', 8080, 0, 65535),
    shutdownTimeoutMs: readInteger(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    upstreamHost: readText(env, 'UPSTREAM_HOST', 'web'),
    upstreamPort: readInteger(env, 'UPSTREAM_PORT', 8080, 1, 65535),
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

/** For src/proxy.ts: the config, or a message and exit 1. */
export function loadProxyConfigOrExit(): ProxyConfig {
  return orExit(loadProxyConfig);
}
