// Runs checks one after the other (the counter checks need the stack to
// themselves), each within a deadline, and records what each one saw.
import { performance } from 'node:perf_hooks';
import { CheckSkipped } from './assert.ts';
import type { StagedCheck } from './stage-checks.ts';
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
  /** What a passed check measured, when it says (requests sent, failures...). */
  readonly note?: string;
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
  // A hint sends the attendee to the problems of the stage they run (the last
  // stage of the list), which also covers the checks that earlier stages brought.
  const chapter = staged.at(-1)?.from.chapter;
  for (const { check, from } of staged) {
    const base = { id: check.id, name: check.name, stage: from.name };
    let result: CheckResult;
    if ('docker' in check && check.docker && options.dockerSkipReason) {
      result = { ...base, status: 'skipped', ms: 0, message: options.dockerSkipReason };
    } else {
      const started = performance.now();
      const outcome = await withDeadline(() => check.run(ctx as VerifyContext), check.timeoutMs);
      const ms = Math.round(performance.now() - started);
      if (outcome.status === 'failed') {
        result = {
          ...base,
          status: 'failed',
          ms,
          message: outcome.message,
          hint: `${check.hint} See ${chapter ?? from.chapter}`,
          logs: check.logs,
        };
      } else if (outcome.status === 'skipped') {
        result = { ...base, status: 'skipped', ms, message: outcome.message };
      } else {
        result = { ...base, status: 'passed', ms, ...(outcome.message ? { note: outcome.message } : {}) };
      }
    }
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

interface Outcome {
  status: CheckResult['status'];
  /** The note of a passed check, what a failed one saw, why a skipped one did not run. */
  message?: string;
}

/** Runs `fn` within `ms` (CHECK_TIMEOUT_MS by default) and says how it ended. */
async function withDeadline(fn: () => Promise<string | undefined>, ms = CHECK_TIMEOUT_MS): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'failed', message: `no result within ${ms / 1000} s` }), ms);
  });
  try {
    return await Promise.race([
      fn().then((note): Outcome => ({ status: 'passed', message: note || undefined })),
      deadline,
    ]);
  } catch (err) {
    if (err instanceof CheckSkipped) return { status: 'skipped', message: err.message };
    return { status: 'failed', message: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
