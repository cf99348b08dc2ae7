// The dashboard's settings (src/dashboard.ts), read the way config.ts reads the app's.
import { type AuthConfig, orExit, readAuth, readInteger, readRedisUrl } from './config.ts';

/** The settings of the dashboard (src/dashboard.ts). */
export interface DashboardConfig {
  port: number;
  redisUrl: string;
  shutdownTimeoutMs: number;
  auth: AuthConfig;
}

export function loadDashboardConfig(env: NodeJS.ProcessEnv = process.env): DashboardConfig {
  return {
    port: readInteger(env, 'PORT', 3000, 0, 65535),
    redisUrl: readRedisUrl(env),
    shutdownTimeoutMs: readInteger(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    auth: readAuth(env),
  };
}

/** For the dashboard, src/dashboard.ts. */
export function loadDashboardConfigOrExit(): DashboardConfig {
  return orExit(loadDashboardConfig);
}
