// The board's data in one SQLite file (Node's built-in node:sqlite, no server):
// the class code and token secret, the attendees, and each attendee's latest
// report per stage. Restarting the board with the same file keeps all of it.
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { CheckVerdict, Report } from '../lib/board-report.ts';

export interface Attendee {
  readonly id: number;
  readonly name: string;
}

/** One attendee's latest report for one stage. */
export interface Cell {
  readonly attendeeId: number;
  readonly name: string;
  readonly stage: string;
  readonly version: string;
  readonly checks: CheckVerdict[];
  readonly reportedAt: number;
  /** When this stage started failing (and has not passed since); null when it passes. */
  readonly failingSince: number | null;
  /** How many reports for this stage the board has accepted from this attendee. */
  readonly reports: number;
}

// No 0/O, 1/I/L: a code read off a projector is typed right the first time.
const CODE_LETTERS = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS attendees (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    joined_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS cells (
    attendee_id INTEGER NOT NULL REFERENCES attendees (id),
    stage TEXT NOT NULL,
    version TEXT NOT NULL,
    checks TEXT NOT NULL,
    reported_at INTEGER NOT NULL,
    failing_since INTEGER,
    reports INTEGER NOT NULL,
    PRIMARY KEY (attendee_id, stage)
  );`;

export function isFailing(checks: readonly CheckVerdict[]): boolean {
  return checks.length === 0 || checks.some((check) => check.verdict === 'failed');
}

export class BoardStore {
  private readonly db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.db = db;
  }

  static open(file: string): BoardStore {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const db = new DatabaseSync(file);
    // WAL: the page's reads do not wait for a report being written.
    // synchronous NORMAL: a commit does not wait for the disk; a crash of the board loses
    // nothing, a power cut at most the last reports (the next --watch round sends them again).
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2000;');
    db.exec(SCHEMA);
    const store = new BoardStore(db);
    store.setting('class_code', () =>
      Array.from({ length: 6 }, () => CODE_LETTERS[randomInt(CODE_LETTERS.length)]).join(''),
    );
    store.setting('token_secret', () => randomBytes(32).toString('base64url'));
    return store;
  }

  /** The code attendees join with; made once, when the file is new. */
  get classCode(): string {
    return this.setting('class_code');
  }

  /** The key that signs this board's tokens (HS256); made once, kept in the file. */
  get tokenSecret(): Uint8Array {
    return Buffer.from(this.setting('token_secret'), 'base64url');
  }

  /** Adds an attendee; undefined when the name is already taken. */
  addAttendee(name: string, now = Date.now()): Attendee | undefined {
    const row = this.db
      .prepare(
        'INSERT INTO attendees (name, joined_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING RETURNING id',
      )
      .get(name, now) as { id: number } | undefined;
    return row ? { id: row.id, name } : undefined;
  }

  attendee(id: number): Attendee | undefined {
    return this.db.prepare('SELECT id, name FROM attendees WHERE id = ?').get(id) as Attendee | undefined;
  }

  /** Keeps the report as the attendee's latest for its stage. */
  saveReport(attendeeId: number, report: Report, now = Date.now()): void {
    const failingSince = isFailing(report.checks) ? now : null;
    this.db
      .prepare(
        `INSERT INTO cells (attendee_id, stage, version, checks, reported_at, failing_since, reports)
         VALUES (?, ?, ?, ?, ?, ?, 1)
         ON CONFLICT (attendee_id, stage) DO UPDATE SET
           version = excluded.version, checks = excluded.checks, reported_at = excluded.reported_at,
           -- still failing: it has been stuck since the first failing report
           failing_since = CASE WHEN excluded.failing_since IS NULL THEN NULL
                                ELSE coalesce(cells.failing_since, excluded.failing_since) END,
           reports = cells.reports + 1`,
      )
      .run(attendeeId, report.stage, report.version, JSON.stringify(report.checks), now, failingSince);
  }

  attendees(): Attendee[] {
    return this.db.prepare('SELECT id, name FROM attendees ORDER BY name').all() as unknown as Attendee[];
  }

  cells(): Cell[] {
    const rows = this.db
      .prepare(
        `SELECT c.attendee_id, a.name, c.stage, c.version, c.checks, c.reported_at, c.failing_since, c.reports
         FROM cells c JOIN attendees a ON a.id = c.attendee_id ORDER BY a.name, c.stage`,
      )
      .all() as Record<string, string | number | null>[];
    return rows.map((row) => ({
      attendeeId: Number(row.attendee_id),
      name: String(row.name),
      stage: String(row.stage),
      version: String(row.version),
      checks: JSON.parse(String(row.checks)),
      reportedAt: Number(row.reported_at),
      failingSince: row.failing_since === null ? null : Number(row.failing_since),
      reports: Number(row.reports),
    }));
  }

  close(): void {
    this.db.close();
  }

  /** Reads a setting, first storing `make()` when it is not there yet. */
  private setting(key: string, make?: () => string): string {
    if (make) this.db.prepare('INSERT INTO settings VALUES (?, ?) ON CONFLICT DO NOTHING').run(key, make());
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string };
    return row.value;
  }
}
