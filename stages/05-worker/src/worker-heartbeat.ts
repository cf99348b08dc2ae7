import { stat, writeFile } from 'node:fs/promises';

// The worker has no HTTP port that Docker's healthcheck could ask. Instead it
// writes the time into a file every few seconds, while it is connected to
// Redis; the healthcheck (src/worker-healthcheck.ts) looks at how old the file is.

/** How often a connected worker touches its heartbeat file. */
export const HEARTBEAT_INTERVAL_MS = 2000;
/** A heartbeat older than this: the worker hangs, or has lost Redis. */
export const HEARTBEAT_MAX_AGE_MS = 10_000;

export async function beat(file: string): Promise<void> {
  await writeFile(file, `${new Date().toISOString()}\n`);
}

/** Whether the file was touched within HEARTBEAT_MAX_AGE_MS (false if there is none). */
export async function isFresh(file: string, now = Date.now()): Promise<boolean> {
  try {
    return now - (await stat(file)).mtimeMs < HEARTBEAT_MAX_AGE_MS;
  } catch {
    return false;
  }
}
