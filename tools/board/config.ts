// The board's settings, each from the environment with a default that works
// on the instructor's laptop. A bad value stops the board with a message.
import { join } from 'node:path';

export interface BoardConfig {
  /** 127.0.0.1: only this laptop. HOST=0.0.0.0 opens the board to the room. */
  readonly host: string;
  readonly port: number;
  /** The SQLite file: a board restarted mid-class keeps its attendees and reports. */
  readonly dbFile: string;
}

export class ConfigError extends Error {}

export function readConfig(env: NodeJS.ProcessEnv, repoRoot: string): BoardConfig {
  const rawPort = env.PORT?.trim() || '4000';
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`PORT must be a port number from 0 to 65535, got "${rawPort}".`);
  }
  return {
    host: env.HOST?.trim() || '127.0.0.1',
    port,
    dbFile: env.BOARD_DB?.trim() || join(repoRoot, 'reports', 'board.sqlite'),
  };
}
