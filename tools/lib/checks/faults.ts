// The fault suite's bookkeeping: a steady stream of POST /records while
// something is broken on purpose, each POST carrying a marker of its own
// ({"fault": "db-stopped", "run": "k3x9", "n": 17}), and what the answers and
// the stored records say afterwards. A 201 promises the record is stored; a
// 503 promises nothing was. The markers let GET /records tell which promise
// was kept: an acknowledged marker must be there exactly once, a refused one
// never. The Docker side (what is stopped, when) is in fault-steps.ts.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Http, NoAnswer } from './http.ts';

/** The data of each POST of a stream: which fault, which run, which request. */
export interface Marker {
  readonly fault: string;
  readonly run: string;
  readonly n: number;
}

/** What one POST of the stream got. */
export interface WriteAnswer {
  readonly n: number;
  /** performance.now() when it was sent, and when its answer came. */
  readonly sentAt: number;
  readonly answeredAt: number;
  /** The HTTP status, or 0 when there was no answer at all. */
  readonly status: number;
  /** The record's id, from the body of a 201. */
  readonly id?: number;
  /** The body was JSON (every answer of the API is). */
  readonly json: boolean;
  /** The dependency a 503 names ({"dependency": "db"}), if any. */
  readonly dependency?: string;
  /** The body (cut short), or why there was no answer. */
  readonly detail: string;
}

/** A record as GET /records lists it. */
export interface StoredRecord {
  readonly id: number;
  readonly data: unknown;
}

/** A run's name: short, random, so that runs on one database never mix. */
export function newRun(): string {
  return randomBytes(4).toString('hex');
}

export function markerOf(data: unknown, fault: string, run: string): Marker | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const m = data as Partial<Marker>;
  return m.fault === fault && m.run === run && Number.isInteger(m.n) ? (m as Marker) : undefined;
}

export interface StreamOptions {
  fault: string;
  run: string;
  /** POSTs in flight at most. */
  clients: number;
  /** Each client sends one POST every `paceMs` (or right after the last answer, when that took longer). */
  paceMs: number;
  /** A bound whatever happens. */
  maxRequests: number;
  /** A POST waits this long for its answer: longer than the stage's own timeouts, so that it shows them. */
  timeoutMs?: number;
}

export interface WriteStream {
  /** The answers so far, in the order they came. */
  readonly answers: readonly WriteAnswer[];
  /** Stops sending; resolves once every POST in flight is answered. */
  stop(): Promise<WriteAnswer[]>;
  /** Resolves once all `maxRequests` are answered. */
  done(): Promise<WriteAnswer[]>;
}

export function startWriteStream(http: Http, options: StreamOptions): WriteStream {
  return startStream(options, (n) =>
    postMarked(http, { fault: options.fault, run: options.run, n }, options.timeoutMs),
  );
}

/** GET / (the visit counter) at the same pace: what the stage answers while a dependency is away. */
export function startVisitStream(http: Http, options: Omit<StreamOptions, 'fault' | 'run'>): WriteStream {
  return startStream(options, async (n) => {
    const sentAt = performance.now();
    try {
      const res = await http.get('/', { timeoutMs: options.timeoutMs ?? 15_000 });
      const dependency = (res.json as { dependency?: unknown } | undefined)?.dependency;
      return {
        n,
        sentAt,
        answeredAt: performance.now(),
        status: res.status,
        // The counter's 200 is a line of text; its errors are JSON.
        json: res.status === 200 || res.json !== undefined,
        ...(typeof dependency === 'string' ? { dependency } : {}),
        detail: res.text.trim().slice(0, 160),
      };
    } catch (err) {
      if (!(err instanceof NoAnswer)) throw err;
      return { n, sentAt, answeredAt: performance.now(), status: 0, json: false, detail: err.reason };
    }
  });
}

function startStream(
  options: Pick<StreamOptions, 'clients' | 'paceMs' | 'maxRequests'>,
  send: (n: number) => Promise<WriteAnswer>,
): WriteStream {
  const answers: WriteAnswer[] = [];
  let next = 0;
  let stopped = false;
  const client = async () => {
    while (!stopped && next < options.maxRequests) {
      const answer = await send(next++);
      answers.push(answer);
      const wait = options.paceMs - (answer.answeredAt - answer.sentAt);
      if (wait > 0 && !stopped) await sleep(wait);
    }
  };
  const clients = Promise.all(Array.from({ length: options.clients }, client));
  const sorted = async () => {
    await clients;
    return [...answers].sort((a, b) => a.n - b.n);
  };
  return {
    answers,
    stop: () => {
      stopped = true;
      return sorted();
    },
    done: sorted,
  };
}

async function postMarked(http: Http, marker: Marker, timeoutMs = 15_000): Promise<WriteAnswer> {
  const sentAt = performance.now();
  try {
    const res = await http.request('POST', '/records', {
      body: JSON.stringify(marker),
      headers: { 'content-type': 'application/json' },
      timeoutMs,
    });
    const body = (res.json ?? {}) as { id?: unknown; dependency?: unknown };
    return {
      n: marker.n,
      sentAt,
      answeredAt: performance.now(),
      status: res.status,
      ...(res.status === 201 && Number.isInteger(body.id) ? { id: body.id as number } : {}),
      json: res.json !== undefined,
      ...(typeof body.dependency === 'string' ? { dependency: body.dependency } : {}),
      detail: res.text.trim().slice(0, 160),
    };
  } catch (err) {
    if (!(err instanceof NoAnswer)) throw err;
    return { n: marker.n, sentAt, answeredAt: performance.now(), status: 0, json: false, detail: err.reason };
  }
}

/** Every record after `afterId`, page by page (GET /records?after=&limit=100). */
export async function listRecords(http: Http, afterId: number): Promise<StoredRecord[]> {
  const records: StoredRecord[] = [];
  let path: string | null = `/records?after=${afterId}&limit=100`;
  while (path) {
    const res = await http.get(path);
    const body = res.json as { results?: StoredRecord[]; next?: string | null } | undefined;
    if (res.status !== 200 || !Array.isArray(body?.results)) {
      throw new Error(`GET ${path} answered ${res.status} ${res.text.slice(0, 160)}`);
    }
    records.push(...body.results);
    path = body.next ?? null;
  }
  return records;
}

// ------------------------------------------------------------ counting

/** What the answers and the stored records say, for one fault. */
export interface WriteTally {
  readonly sent: number;
  /** "201" -> 120, "503 db" -> 40, "no answer (ECONNRESET)" -> 1 */
  readonly byStatus: Readonly<Record<string, number>>;
  /** The 201s. */
  readonly acknowledged: number;
  /** Acknowledged, but their marker is not stored under the id the 201 gave. */
  readonly lost: readonly number[];
  /** Answered with anything but a 201 (a 503, a 502, no answer): the markers that are stored all the same. */
  readonly refused: number;
  readonly refusedButStored: readonly number[];
  /** Markers stored more than once. */
  readonly duplicates: readonly number[];
  /** Answers whose body is not JSON. */
  readonly notJson: number;
  /** The ids of the acknowledged records, in order. */
  readonly ids: readonly number[];
}

export function statusKey(answer: WriteAnswer): string {
  if (answer.status === 0) return `no answer (${answer.detail})`;
  return answer.dependency ? `${answer.status} ${answer.dependency}` : String(answer.status);
}

export function tallyWrites(
  answers: readonly WriteAnswer[],
  stored: readonly StoredRecord[],
  fault: string,
  run: string,
): WriteTally {
  const byStatus: Record<string, number> = {};
  for (const answer of answers) byStatus[statusKey(answer)] = (byStatus[statusKey(answer)] ?? 0) + 1;
  // n -> the ids stored with that marker
  const storedIds = new Map<number, number[]>();
  for (const record of stored) {
    const marker = markerOf(record.data, fault, run);
    if (marker) storedIds.set(marker.n, [...(storedIds.get(marker.n) ?? []), record.id]);
  }
  const acknowledged = answers.filter((a) => a.status === 201);
  const refused = answers.filter((a) => a.status !== 201);
  return {
    sent: answers.length,
    byStatus,
    acknowledged: acknowledged.length,
    lost: acknowledged
      .filter((a) => a.id === undefined || !storedIds.get(a.n)?.includes(a.id))
      .map((a) => a.n),
    refused: refused.length,
    refusedButStored: refused.filter((a) => storedIds.has(a.n)).map((a) => a.n),
    duplicates: [...storedIds].filter(([, ids]) => ids.length > 1).map(([n]) => n),
    notJson: answers.filter((a) => a.status !== 0 && !a.json).length,
    ids: acknowledged.map((a) => a.id as number).sort((a, b) => a - b),
  };
}

/** When the fault began and ended (performance.now()), as the Docker commands returned. */
export interface FaultWindow {
  /** `docker compose stop db` began, and returned. */
  readonly stopBegan: number;
  readonly stopped: number;
  /** `docker compose start db` returned. */
  readonly started: number;
}

export interface Timeline {
  /** From `stop` beginning to the first answer that was not a 201; undefined when none came. */
  readonly firstRefusalMs?: number;
  /** Its status ("503 db"). */
  readonly firstRefusal?: string;
  /** From `start` returning to the first success after which every answer was one; undefined if never. */
  readonly backMs?: number;
}

/** `ok`: the status of a kept promise, 201 for POST /records, 200 for the counter. */
export function timeline(answers: readonly WriteAnswer[], window: FaultWindow, ok = 201): Timeline {
  const byAnswer = [...answers].sort((a, b) => a.answeredAt - b.answeredAt);
  const first = byAnswer.find((a) => a.status !== ok && a.answeredAt >= window.stopBegan);
  const lastRefusal = byAnswer.filter((a) => a.status !== ok).at(-1);
  const since = Math.max(window.started, lastRefusal?.answeredAt ?? 0);
  const back = byAnswer.find((a) => a.status === ok && a.sentAt >= since && a.answeredAt >= window.started);
  return {
    ...(first ? { firstRefusalMs: first.answeredAt - window.stopBegan, firstRefusal: statusKey(first) } : {}),
    ...(back ? { backMs: back.answeredAt - window.started } : {}),
  };
}

/** The archive of the acknowledged records (stage 05): how many are archived exactly once. */
export interface ArchiveTally {
  readonly expected: number;
  /** completed, archivedAt set, and exactly one file (no temporary ones) in the archive volume. */
  readonly once: number;
  /** The others, grouped by what they showed ("failed: getaddrinfo ENOTFOUND db" -> [ids]). */
  readonly problems: Readonly<Record<string, readonly number[]>>;
}

/** GET /records/:id/archive, the fields the tally reads. */
export interface ArchiveAnswer {
  readonly id: number;
  readonly state: string;
  readonly archivedAt: string | null;
  readonly error: string | null;
}

export function archiveFileName(id: number): string {
  return `record-${id}.json.zz`;
}

/** `files`: the names in the archive volume; `wrote`: how often each id's file was written (workers' logs). */
export function tallyArchives(
  statuses: readonly ArchiveAnswer[],
  files: readonly string[],
  wrote: ReadonlyMap<number, number> = new Map(),
): ArchiveTally {
  const problems: Record<string, number[]> = {};
  const problem = (what: string, id: number) => {
    problems[what] = [...(problems[what] ?? []), id];
  };
  let once = 0;
  for (const status of statuses) {
    const name = archiveFileName(status.id);
    const archives = files.filter((f) => f === name).length;
    const temporary = files.filter((f) => f.startsWith(`${name}.`)).length;
    if (status.state !== 'completed') {
      problem(`${status.state}${status.error ? `: ${status.error.slice(0, 80)}` : ''}`, status.id);
    } else if (!status.archivedAt) problem('completed without archivedAt', status.id);
    else if (archives !== 1) problem('completed, no file in the archive volume', status.id);
    else if (temporary > 0) problem('a temporary file left beside its archive', status.id);
    else if ((wrote.get(status.id) ?? 1) > 1) problem('its file written more than once', status.id);
    else once++;
  }
  return { expected: statuses.length, once, problems };
}

// ------------------------------------------------------------ the report

export interface FaultReport {
  /** "db stopped 30 s under a write stream" */
  readonly title: string;
  readonly writes: WriteTally;
  /** How the stream went: "4 clients, one POST every 250 ms each" */
  readonly stream: string;
  readonly timeline?: Timeline;
  /** The command whose timing the timeline gives: "stop db". */
  readonly what?: string;
  readonly archive?: ArchiveTally;
  /** More lines (the counter's answers, how long a step took). */
  readonly more?: readonly string[];
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function sample(ns: readonly number[], max = 8): string {
  return ns.length <= max ? ns.join(', ') : `${ns.slice(0, max).join(', ')} and ${ns.length - max} more`;
}

export function formatStatuses(byStatus: Readonly<Record<string, number>>): string {
  const entries = Object.entries(byStatus).sort(([a], [b]) => a.localeCompare(b));
  return entries.map(([key, n]) => `${key} × ${n}`).join(', ') || 'none';
}

/** The lines of a fault's note: what was sent, what came back, what is stored. */
export function formatReport(report: FaultReport): string {
  const w = report.writes;
  const lines = [
    `${report.title}: ${w.sent} POSTs (${report.stream}); answers: ${formatStatuses(w.byStatus)}`,
    `acknowledged (201) ${w.acknowledged}, lost ${w.lost.length}; refused ${w.refused}, ` +
      `refused-but-stored ${w.refusedButStored.length}; stored twice ${w.duplicates.length}; ` +
      `non-JSON answers ${w.notJson}`,
  ];
  if (report.timeline && report.what) lines.push(formatTimeline(report.timeline, report.what));
  if (report.archive) {
    const a = report.archive;
    const problems = Object.entries(a.problems).map(
      ([what, ids]) => `${ids.length} ${what} (${sample(ids)})`,
    );
    lines.push(
      `archived exactly once: ${a.once} of ${a.expected}${problems.length > 0 ? `; ${problems.join('; ')}` : ''}`,
    );
  }
  lines.push(...(report.more ?? []));
  return lines.join('\n');
}

/** "first 503 db 0.4 s after `stop db` began; 201 for good 1.9 s after it was back" */
export function formatTimeline(t: Timeline, what: string, ok = '201'): string {
  if (t.firstRefusalMs === undefined) return `${ok} throughout, not one refusal`;
  const first = `first ${t.firstRefusal} ${seconds(t.firstRefusalMs)} after \`${what}\` began`;
  const back =
    t.backMs === undefined ? `never back to ${ok}` : `${ok} for good ${seconds(t.backMs)} after it was back`;
  return `${first}; ${back}`;
}

/** What must hold for a fault; each broken promise is one sentence. */
export interface Promises {
  /** Only 201s: no refusal at all (a replica stopped, Redis stopped in 05). */
  readonly allAcknowledged?: boolean;
  /** Back to 201 after the fault. */
  readonly recovers?: boolean;
}

export function brokenPromises(report: FaultReport, promises: Promises = {}): string[] {
  const w = report.writes;
  const broken: string[] = [];
  if (w.lost.length > 0)
    broken.push(`${w.lost.length} acknowledged record(s) not stored: n = ${sample(w.lost)}`);
  if (w.refusedButStored.length > 0) {
    broken.push(
      `${w.refusedButStored.length} refused POST(s) stored all the same: n = ${sample(w.refusedButStored)}`,
    );
  }
  if (w.duplicates.length > 0)
    broken.push(`${w.duplicates.length} POST(s) stored twice: n = ${sample(w.duplicates)}`);
  if (w.notJson > 0) broken.push(`${w.notJson} answer(s) without a JSON body`);
  const refusals = Object.entries(w.byStatus).filter(([key]) => key !== '201');
  const failed = refusals.filter(([key]) => !key.startsWith('503'));
  if (promises.allAcknowledged && w.refused > 0) {
    broken.push(`${w.refused} POST(s) not acknowledged: ${formatStatuses(Object.fromEntries(refusals))}`);
  } else if (failed.length > 0) {
    broken.push(`answers that are neither 201 nor 503: ${formatStatuses(Object.fromEntries(failed))}`);
  }
  if (promises.recovers && report.timeline && report.timeline.backMs === undefined) {
    broken.push('the POSTs never went back to 201 after the fault');
  }
  if (report.archive && report.archive.once < report.archive.expected) {
    broken.push(
      `${report.archive.expected - report.archive.once} acknowledged record(s) not archived exactly once`,
    );
  }
  return broken;
}
