// Helpers for the tests that run the stage's real programs, as compose runs
// them: web (src/server.ts) and workers (src/worker.ts), against a database
// that src/migrate.ts has set up. No mocks: real Redis, Postgres, processes
// and files.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../testing/isolation.ts';
import { runStage, runStageToExit, type StageProcess } from '../../../testing/stage-process.ts';

export const STAGE = '05-worker';
/** The line that src/worker.ts prints once it takes jobs. */
export const WORKER_READY = /worker: taking jobs from the "archive" queue/;

/** A new database with the stage's tables, made by src/migrate.ts. */
export async function migratedDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase();
  const migrate = await runStageToExit(STAGE, {
    script: 'src/migrate.ts',
    env: { DATABASE_URL: database.url },
  });
  if (migrate.code !== 0) throw new Error(`migrate failed:\n${migrate.output}`);
  return database;
}

/** A temporary folder, removed by the returned function. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'workshop-05-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function startWeb(env: Record<string, string>): Promise<StageProcess> {
  return runStage(STAGE, { env });
}

let workers = 0;
/** A worker process; its heartbeat file goes into the system's temporary folder. */
export function startWorker(env: Record<string, string>): Promise<StageProcess> {
  workers++;
  return runStage(STAGE, {
    script: 'src/worker.ts',
    ready: WORKER_READY,
    env: { WORKER_HEARTBEAT_FILE: join(tmpdir(), `workshop-05-heartbeat-${process.pid}-${workers}`), ...env },
  });
}

/** What POST /records answers: the record and its job, or an error. */
export interface PostAnswer {
  status: number;
  body: {
    id: number;
    data: unknown;
    archive: { jobId: string; status: string; queued: boolean; note?: string };
    error?: string;
    dependency?: string;
  };
}

/** What GET /records/:id/archive answers. */
export interface ArchiveStatus {
  id: number;
  jobId: string;
  state: string;
  progress: number;
  attemptsMade: number | null;
  error: string | null;
  file: string | null;
  archivedAt: string | null;
  source: 'queue' | 'database';
}

// The app answers within a second. A client that waits 3 s and then gives up
// turns a hang into a failed test (instead of a test that never ends).
export async function postRecord(url: string, data: unknown): Promise<PostAnswer> {
  const res = await fetch(`${url}/records`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(data),
    signal: AbortSignal.timeout(3000),
  });
  return { status: res.status, body: (await res.json()) as PostAnswer['body'] };
}

export async function archiveStatus(url: string, id: number): Promise<ArchiveStatus> {
  const res = await fetch(`${url}/records/${id}/archive`, { signal: AbortSignal.timeout(3000) });
  if (res.status !== 200) throw new Error(`GET /records/${id}/archive: ${res.status} ${await res.text()}`);
  return (await res.json()) as ArchiveStatus;
}

/**
 * Asks GET /records/:id/archive every 50 ms until `until` holds, for at most
 * `seconds`, and returns every answer it got on the way (the last one holds).
 */
export async function waitForArchive(
  url: string,
  id: number,
  until: (status: ArchiveStatus) => boolean,
  seconds = 20,
): Promise<ArchiveStatus[]> {
  const seen: ArchiveStatus[] = [];
  for (let attempt = 0; attempt < seconds * 20; attempt++) {
    const status = await archiveStatus(url, id);
    seen.push(status);
    if (until(status)) return seen;
    await sleep(50);
  }
  throw new Error(`record ${id}: not there after ${seconds} s; last: ${JSON.stringify(seen.at(-1))}`);
}

export const completed = (status: ArchiveStatus) => status.state === 'completed';

/** The rows of one SQL query, on a connection of its own. */
export async function query(databaseUrl: string, sql: string): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** The names in the archive folder, sorted. */
export function archiveFiles(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** How often a worker's output says that it wrote the record's archive file. */
export function writesOf(output: string, id: number): number {
  return output
    .split('\n')
    .filter((line) => line.includes(`worker: record ${id}: wrote record-${id}.json.zz`)).length;
}
