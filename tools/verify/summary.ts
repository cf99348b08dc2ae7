// The end of `npm run verify`: a table on the screen and a JSON report file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult } from '../lib/checks/run.ts';

export interface StageReport {
  readonly stage: string;
  readonly project: string;
  readonly port: number;
  ok: boolean;
  buildMs?: number;
  /** From `up` to every service healthy (or done). */
  healthyMs?: number;
  passed: number;
  failed: number;
  skipped: number;
  /** The step that failed before the checks could run, or "interrupted". */
  error?: string;
  checks: CheckResult[];
  /** The failing services' last log lines. */
  logs?: string;
  /** Set when `down -v` did not work: what is left behind. */
  teardownError?: string;
}

export interface RunReport {
  readonly startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  readonly docker: { engine: string; compose: string };
  interrupted: boolean;
  ok: boolean;
  readonly stages: StageReport[];
}

export function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

export function formatTable(stages: readonly StageReport[]): string {
  const rows = [
    ['stage', 'build', 'healthy', 'checks', 'result'],
    ...stages.map((s) => [
      s.stage,
      seconds(s.buildMs),
      seconds(s.healthyMs),
      s.passed + s.failed > 0 ? `${s.passed} passed, ${s.failed} failed` : '-',
      s.ok ? 'ok' : `FAILED${s.error ? `: ${s.error.split('\n')[0]}` : ''}`,
    ]),
  ];
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Writes reports/verify-<time>.json; returns its path relative to the root. */
export function writeReport(root: string, report: RunReport): string {
  const name = `verify-${report.startedAt.replace(/[:.]/g, '-')}.json`;
  mkdirSync(join(root, 'reports'), { recursive: true });
  writeFileSync(join(root, 'reports', name), `${JSON.stringify(report, null, 2)}\n`);
  return join('reports', name);
}
