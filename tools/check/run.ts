// Runs checks one after the other (the counter checks need the stack to
// themselves), each within a deadline, and records what each one saw.
import { performance } from 'node:perf_hooks';
import type { StagedCheck } from './stages.ts';
import type { CheckContext, VerifyContext } from './types.ts';

export const CHECK_TIMEOUT_MS = 30_000;

export interface CheckResult {
  readonly id: string;
  readonly name: string;
  /** The stage whose checks file holds the check. */
  readonly stage: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly ms: number;
  /** What the check saw (failed) or why it did not run (skipped). */
  readonly message?: string;
  /** Where to look next (failed only). */
  readonly hint?: string;
  /** The services whose logs explain a failure. */
  readonly logs?: readonly string[];
}

export interface RunOptions {
  /** Set when Docker checks cannot run here: the reason they are skipped. */
  dockerSkipReason?: string;
  /** Called after each check, for output as it happens. */
  onResult?: (result: CheckResult) => void;
}

export async function runChecks(
  staged: readonly StagedCheck[],
  ctx: CheckContext | VerifyContext,
  options: RunOptions = {},
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const { check, from } of staged) {
    const base = { id: check.id, name: check.name, stage: from.folder };
    let result: CheckResult;
    if ('docker' in check && check.docker && options.dockerSkipReason) {
      result = { ...base, status: 'skipped', ms: 0, message: options.dockerSkipReason };
    } else {
      const started = performance.now();
      const error = await withDeadline(() => check.run(ctx as VerifyContext), CHECK_TIMEOUT_MS);
      const ms = Math.round(performance.now() - started);
      result = error
        ? {
            ...base,
            status: 'failed',
            ms,
            message: error,
            hint: `${check.hint} See ${from.chapter}`,
            logs: check.logs,
          }
        : { ...base, status: 'passed', ms };
    }
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

/** Runs `fn`; resolves with undefined when it succeeded, or with what went wrong. */
async function withDeadline(fn: () => Promise<void>, ms: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no result within ${ms / 1000} s`), ms);
  });
  try {
    return await Promise.race([fn().then(() => undefined), deadline]);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}
