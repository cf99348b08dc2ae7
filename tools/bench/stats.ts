// Percentiles of measured times, medians of rounds. Tests import this file.
import type { Combined, Round } from './report.ts';

/**
 * The p-th percentile (0 < p ≤ 100) by the nearest-rank method: the smallest
 * value that at least p % of the values are less than or equal to. NaN when
 * there are no values.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be above 0 and at most 100, got ${p}`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(rank, 1) - 1] as number;
}

export interface Spread {
  p50: number;
  p99: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  return {
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    // reduce, not Math.max(...values): that runs out of stack on a long list.
    max: values.length === 0 ? Number.NaN : values.reduce((a, b) => Math.max(a, b)),
  };
}

/** Rounded to `digits` decimals, so that the JSON shows what was measured and no noise digits. */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** The median (by nearest rank: one of the values) of each number of the rounds. */
export function combineRounds(rounds: readonly Round[]): Combined {
  if (rounds.length === 0) throw new RangeError('no rounds to combine');
  const median = (pick: (r: Round) => number | undefined) => {
    const values = rounds.map(pick);
    return values.every((v) => v !== undefined) ? percentile(values as number[], 50) : undefined;
  };
  const sum = (pick: (r: Round) => number) => rounds.reduce((total, r) => total + pick(r), 0);
  const rps = rounds.map((r) => r.rps);
  const combined: Combined = {
    ok: sum((r) => r.ok),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    seconds: round(sum((r) => r.seconds)),
    rps: median((r) => r.rps) as number,
    p50Ms: median((r) => r.p50Ms) as number,
    p99Ms: median((r) => r.p99Ms) as number,
    load1: round(median((r) => r.load1) as number),
    rounds: rounds.length,
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
  };
  const proxyCpuUs = median((r) => r.proxyCpuUs);
  const replicasCpuUs = median((r) => r.replicasCpuUs);
  if (proxyCpuUs !== undefined) combined.proxyCpuUs = proxyCpuUs;
  if (replicasCpuUs !== undefined) combined.replicasCpuUs = replicasCpuUs;
  return combined;
}
