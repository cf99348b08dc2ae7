// Percentiles of measured times. Tests import this file.

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
