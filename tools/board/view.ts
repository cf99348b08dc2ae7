// The board as the page, the JSON endpoint and the CSV show it: one row per
// attendee, one cell per stage, the stuck first.
import { type Cell, isFailing } from './store.ts';

export interface CellView {
  readonly passed: number;
  /** The checks that ran (skipped ones are not counted). */
  readonly total: number;
  readonly skipped: number;
  /** False when nothing answered on the stage's URL. */
  readonly answering: boolean;
  /** The names of the failing checks, as text. */
  readonly failing: string[];
  readonly reportedAt: number;
  readonly failingSince: number | null;
  readonly reports: number;
  readonly version: string;
}

export interface RowView {
  readonly name: string;
  /** The earliest failingSince of the row's cells: how long this attendee has been stuck. */
  readonly stuckSince: number | null;
  readonly cells: Record<string, CellView>;
}

export interface BoardView {
  /** The board's clock, so that the page shows ages right even when the laptops' clocks differ. */
  readonly now: number;
  readonly stages: string[];
  readonly rows: RowView[];
}

/** `checkNames`: id → what the check shows ("GET /healthz answers 200..."). */
export function boardView(
  cells: readonly Cell[],
  stages: readonly string[],
  checkNames: ReadonlyMap<string, string>,
  attendees: readonly { name: string }[],
  now = Date.now(),
): BoardView {
  const rows = new Map<
    string,
    { name: string; stuckSince: number | null; cells: Record<string, CellView> }
  >();
  for (const { name } of attendees) rows.set(name, { name, stuckSince: null, cells: {} });
  for (const cell of cells) {
    const row = rows.get(cell.name) ?? { name: cell.name, stuckSince: null, cells: {} };
    rows.set(cell.name, row);
    row.cells[cell.stage] = cellView(cell, checkNames);
    if (cell.failingSince !== null && (row.stuckSince === null || cell.failingSince < row.stuckSince)) {
      row.stuckSince = cell.failingSince;
    }
  }
  const sorted = [...rows.values()].sort(
    (a, b) =>
      (a.stuckSince ?? Number.POSITIVE_INFINITY) - (b.stuckSince ?? Number.POSITIVE_INFINITY) ||
      a.name.localeCompare(b.name),
  );
  return { now, stages: [...stages], rows: sorted };
}

function cellView(cell: Cell, checkNames: ReadonlyMap<string, string>): CellView {
  const ran = cell.checks.filter((check) => check.verdict !== 'skipped');
  return {
    passed: ran.filter((check) => check.verdict === 'passed').length,
    total: ran.length,
    skipped: cell.checks.length - ran.length,
    answering: cell.checks.length > 0,
    failing: ran.filter((check) => check.verdict === 'failed').map((c) => checkNames.get(c.id) ?? c.id),
    reportedAt: cell.reportedAt,
    failingSince: isFailing(cell.checks) ? cell.failingSince : null,
    reports: cell.reports,
    version: cell.version,
  };
}

/** One line per attendee and stage reported, for a spreadsheet after the class. */
export function boardCsv(view: BoardView): string {
  const lines = [
    ['attendee', 'stage', 'passed', 'total', 'failing', 'last_report', 'failing_since', 'reports'],
  ];
  const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
  for (const row of view.rows) {
    for (const stage of view.stages) {
      const cell = row.cells[stage];
      if (!cell) continue;
      const failing = cell.answering ? cell.failing.join('; ') : 'nothing answers';
      const counts = [String(cell.passed), String(cell.total)];
      lines.push([
        row.name,
        stage,
        ...counts,
        failing,
        iso(cell.reportedAt),
        iso(cell.failingSince),
        String(cell.reports),
      ]);
    }
  }
  return `${lines.map((fields) => fields.map(csvField).join(',')).join('\r\n')}\r\n`;
}

/**
 * Quoted, and a field that a spreadsheet would run as a formula (=, +, -, @)
 * gets a ' in front: a name is data, never a formula.
 */
function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${safe.replaceAll('"', '""')}"`;
}
