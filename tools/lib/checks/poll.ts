// Waiting, bounded: for the checks that give the stack a moment (a job to be
// done, DNS to follow a change) and must still end.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Asks `probe` every `intervalMs` until it returns something, for at most `ms`; undefined when it never did. */
export async function within<T>(
  ms: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 250,
): Promise<T | undefined> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(intervalMs);
  }
  return undefined;
}

/** 1234 -> "1.2 s" */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
