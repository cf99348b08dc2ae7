// The fault suite: end-to-end steps of `npm run verify` that break the real
// stack on purpose under a bounded load (Postgres or Redis stopped, a replica
// stopped, down and up, a start on busy cores, hostile requests) and count
// whether the stage kept its promises. The stages' checks files register the
// ones that apply to them; faults.ts does the counting, hostile.ts the bytes.
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { commandError, runCommand } from '../process.ts';
import { fail } from './assert.ts';
import {
  type ArchiveAnswer,
  type ArchiveTally,
  archiveFileName,
  brokenPromises,
  type FaultReport,
  type FaultWindow,
  formatReport,
  formatStatuses,
  formatTimeline,
  listRecords,
  newRun,
  type Promises,
  type StreamOptions,
  seconds,
  startVisitStream,
  startWriteStream,
  statusKey,
  tallyArchives,
  tallyWrites,
  timeline,
  type WriteAnswer,
} from './faults.ts';
import { type HostileCase, jsonCases, judgeAnswer, parserCases, sendRaw } from './hostile.ts';
import { within } from './poll.ts';
import { aVictim, exec } from './services.ts';
import type { VerifyContext, VerifyStep } from './types.ts';

/** A steady stream: 4 POSTs in flight at most, each client one every 250 ms (16 a second). */
const STREAM = { clients: 4, paceMs: 250, maxRequests: 1500 };
/** Before the fault: the stream is seen to work. */
const WARM_MS = 3_000;
/** After the fault: this long with only 201s, or at most RECOVER_MS. */
const STEADY_MS = 5_000;
const RECOVER_MS = 60_000;
/** The archive of the acknowledged records (05): given up when no new file came for this long. */
const ARCHIVE_STALL_MS = 60_000;
const ARCHIVE_MAX_MS = 150_000;
/** Containers that were unhealthy during a fault must heal by themselves within this. */
const HEAL_MS = 90_000;

export interface FaultOptions {
  /** The stage ("05"): step ids are unique across the stages. */
  readonly stage: string;
  /** Stage 05: every acknowledged record must also be archived exactly once. */
  readonly archive?: boolean;
}

const HINT =
  'The promises: a 201 means stored (and in 05 archived exactly once), a 503 means nothing was stored, and ' +
  'every service comes back by itself. The note says which broke, with the markers ({"fault", "run", "n"}) ' +
  'to find the records: `curl localhost:8080/records`. docs/instructor-guide.md#the-fault-suite explains each line.';

// ------------------------------------------------------------ a dependency stopped

/**
 * `docker compose stop <service>` for `outageMs` while POSTs stream in, then
 * `start` again. `refusals`: what the POSTs may answer meanwhile (503 naming
 * the dependency, or nothing but 201 in 05 for Redis).
 */
export function dependencyStopped(options: {
  stage: string;
  service: 'db' | 'redis';
  outageMs: number;
  /** Only 201s while it is away (Redis in stage 05: the queue is a hint). */
  allAcknowledged?: boolean;
  /** Also GET / (the counter in Redis), which answers 503 while Redis is away. */
  visits?: boolean;
  archive?: boolean;
}): VerifyStep {
  const { service, outageMs } = options;
  const fault = `${service}-stopped`;
  const during = options.allAcknowledged ? 'every POST answered 201' : 'POSTs answered 201 or 503';
  return {
    id: `fault-${options.stage}-${fault}`,
    logs: ['web', service, ...(options.archive ? ['worker'] : [])],
    name: `${service} stopped ${outageMs / 1000} s under a stream of POSTs: ${during}, none lost, none refused but stored${options.archive ? ', each archived once' : ''}`,
    timeoutMs: outageMs + RECOVER_MS + HEAL_MS + ARCHIVE_MAX_MS + 120_000,
    hint: HINT,
    async run(ctx) {
      const run = newRun();
      const baseline = await baselineId(ctx, fault, run);
      const stream = startWriteStream(ctx.http, { fault, run, ...STREAM });
      const visits = options.visits
        ? startVisitStream(ctx.http, { clients: 1, paceMs: 250, maxRequests: 600 })
        : undefined;
      let window: FaultWindow | undefined;
      let stoppedAt: number | undefined;
      try {
        await sleep(WARM_MS);
        const stopBegan = performance.now();
        await composeMust(ctx, ['stop', service]);
        stoppedAt = performance.now();
        await sleep(outageMs);
        await composeMust(ctx, ['start', service]);
        window = { stopBegan, stopped: stoppedAt, started: performance.now() };
        await steady(stream.answers, window.started);
      } finally {
        if (stoppedAt !== undefined && window === undefined)
          await ctx.compose.run(['start', service], { timeoutMs: 60_000 });
        await Promise.all([stream.stop(), visits?.stop()]);
      }
      const answers = await stream.stop();
      if (!window) fail(`${service} was not started again`);
      const healed = await heal(ctx);
      const writes = tallyWrites(answers, await listRecords(ctx.http, baseline), fault, run);
      const more = [`stop ${service} took ${seconds(window.stopped - window.stopBegan)}`, healed];
      // A 503 naming a dependency that ran all along: a timeout that tripped on a slow machine.
      const others = answers.filter((a) => a.status === 503 && a.dependency && a.dependency !== service);
      if (others.length > 0) {
        more.push(
          `${others.length} 503(s) named ${[...new Set(others.map((a) => a.dependency))].join(', ')}, ` +
            `which ran all along (load average ${loadavg()[0]?.toFixed(1)})`,
        );
      }
      if (visits) {
        const seen = await visits.stop();
        const byStatus: Record<string, number> = {};
        for (const v of seen) byStatus[statusKey(v)] = (byStatus[statusKey(v)] ?? 0) + 1;
        more.push(
          `GET / (the counter): ${seen.length} visits; ${formatStatuses(byStatus)}; ` +
            formatTimeline(timeline(seen, window, 200), `stop ${service}`, '200'),
        );
        const badVisits = seen.filter((v) => v.status !== 200 && (v.status !== 503 || !v.json));
        if (badVisits.length > 0)
          more.push(`BROKEN: ${badVisits.length} visit(s) answered neither 200 nor a JSON 503`);
      }
      const report: FaultReport = {
        title: `${service} stopped ${seconds(outageMs)}`,
        writes,
        stream: streamText(STREAM),
        timeline: timeline(answers, window),
        what: `stop ${service}`,
        ...(options.archive ? { archive: await archiveOnce(ctx, writes.ids) } : {}),
        more,
      };
      return judge(report, { recovers: true, allAcknowledged: options.allAcknowledged });
    },
  };
}

// ------------------------------------------------------------ a replica stopped

/**
 * `docker stop` (SIGTERM, then SIGKILL after 30 s) of one web replica while
 * POSTs stream in, 8 at a time: what a scale-down or a rolling update does.
 * Not one POST may fail.
 */
export function replicaStopped(options: FaultOptions): VerifyStep {
  const fault = 'replica-stopped';
  const load = { clients: 8, paceMs: 100, maxRequests: 1500 };
  return {
    id: `fault-${options.stage}-${fault}`,
    logs: ['proxy', 'web'],
    name: `a web replica stopped (SIGTERM) under ${load.clients} POSTs at a time: every POST answered 201${options.archive ? ', each archived once' : ''}`,
    timeoutMs: 120_000 + HEAL_MS + ARCHIVE_MAX_MS,
    hint:
      'A replica that gets SIGTERM must first leave the rotation (its /healthz says "draining"), answer with ' +
      '`Connection: close`, then finish what it has; the proxy retries a request that never reached a replica. ' +
      '`docker compose logs proxy web`.',
    async run(ctx) {
      const victim = await aVictim(ctx.compose, 'web');
      const run = newRun();
      const baseline = await baselineId(ctx, fault, run);
      const stream = startWriteStream(ctx.http, { fault, run, ...load });
      let stopMs = 0;
      try {
        await sleep(2_000);
        const t0 = performance.now();
        const stopped = await runCommand('docker', ['stop', '--time', '30', victim.name], {
          timeoutMs: 60_000,
        });
        stopMs = performance.now() - t0;
        if (stopped.code !== 0) fail(`docker stop ${victim.name}: ${commandError(stopped)}`);
        await sleep(3_000);
      } finally {
        await stream.stop();
      }
      const answers = await stream.stop();
      await ctx.up(); // the stopped replica back, for what comes next
      const writes = tallyWrites(answers, await listRecords(ctx.http, baseline), fault, run);
      const report: FaultReport = {
        title: `${victim.name} stopped (SIGTERM)`,
        writes,
        stream: streamText(load),
        ...(options.archive ? { archive: await archiveOnce(ctx, writes.ids) } : {}),
        more: [`docker stop took ${seconds(stopMs)} (its drain, then its exit)`],
      };
      return judge(report, { allAcknowledged: true });
    },
  };
}

// ------------------------------------------------------------ down, then up

/** `docker compose down` (no -v), then `up`: every acknowledged record is still there, and its archive. */
export function downThenUp(options: FaultOptions): VerifyStep {
  const fault = 'down-up';
  const load = { clients: 4, paceMs: 0, maxRequests: 20 };
  return {
    id: `fault-${options.stage}-${fault}`,
    logs: ['db', 'migrate', 'web', 'worker'],
    name: `${load.maxRequests} records, then \`docker compose down\` and \`up\`: every one still there${options.archive ? ', archived once' : ''}`,
    timeoutMs: 300_000 + ARCHIVE_MAX_MS,
    hint:
      'down without -v keeps the named volumes (db-data, redis-data, archive); the data must live there, not ' +
      'in a container. `docker volume ls`, `docker compose logs db migrate worker`.',
    async run(ctx) {
      const run = newRun();
      const baseline = await baselineId(ctx, fault, run);
      const answers = await startWriteStream(ctx.http, { fault, run, ...load }).done();
      // Archived before the down, so that what is checked after it is what the volume kept.
      if (options.archive) await archiveOnce(ctx, tallyWrites(answers, [], fault, run).ids);
      const t0 = performance.now();
      await ctx.down();
      await ctx.up();
      const writes = tallyWrites(answers, await listRecords(ctx.http, baseline), fault, run);
      const report: FaultReport = {
        title: 'down, then up',
        writes,
        stream: `${load.clients} at a time, all before the down`,
        ...(options.archive ? { archive: await archiveOnce(ctx, writes.ids) } : {}),
        more: [`down and up took ${seconds(performance.now() - t0)}`],
      };
      return judge(report, { allAcknowledged: true });
    },
  };
}

// ------------------------------------------------------------ a start on busy cores

/**
 * `down -v`, then a fresh `docker compose up --wait` while CPU burners keep
 * every core busy: it must be healthy at the first try. The burners are child
 * processes that stop by themselves at their deadline, and are killed in any case.
 */
export function busyStart(options: FaultOptions): VerifyStep {
  const burners = 2 * availableParallelism();
  const waitS = 240;
  return {
    id: `fault-${options.stage}-busy-start`,
    logs: ['migrate', 'db', 'web', 'proxy', 'worker'],
    name: `a fresh \`docker compose up --wait\` with ${burners} CPU burners on ${availableParallelism()} cores: healthy at the first try`,
    timeoutMs: (waitS + 150) * 1000,
    hint:
      'On a busy laptop: migrate must wait for the database (with retries), healthchecks must be cheap with ' +
      'timeouts for a loaded machine, the proxy must not wait for every replica. `docker compose ps`, ' +
      '`docker compose logs migrate web proxy`.',
    async run(ctx) {
      const down = await ctx.compose.run(['down', '-v', '--timeout', '10'], { timeoutMs: 120_000 });
      if (down.code !== 0) fail(`docker compose down -v: ${commandError(down)}`);
      const scale = Object.entries(ctx.scale).flatMap(([service, n]) => ['--scale', `${service}=${n}`]);
      const stopBurners = startBurners(burners, (waitS + 30) * 1000);
      let up: Awaited<ReturnType<typeof runCommand>>;
      let ms: number;
      let load: number;
      try {
        await sleep(2_000); // the cores are busy before compose starts
        const t0 = performance.now();
        up = await ctx.compose.run(
          ['up', '-d', '--no-build', '--wait', '--wait-timeout', String(waitS), ...scale],
          {
            timeoutMs: (waitS + 60) * 1000,
          },
        );
        ms = performance.now() - t0;
        load = loadavg()[0] ?? 0;
      } finally {
        stopBurners();
      }
      const note = `\`up --wait\` ${up.code === 0 ? 'healthy' : 'FAILED'} after ${seconds(ms)}, load average ${load.toFixed(1)}`;
      if (up.code !== 0) fail(`${note}: ${commandError(up)}`);
      await ctx.up(); // verify's own look: every service healthy or done
      return note;
    },
  };
}

/** `n` busy loops in child processes, each ending itself after `ms`; returns what kills them now. */
function startBurners(n: number, ms: number): () => void {
  const script = `const end = Date.now() + ${ms}; while (Date.now() < end) {}`;
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ['-e', script], { stdio: 'ignore' }),
  );
  return () => {
    for (const child of children) child.kill('SIGKILL');
  };
}

// ------------------------------------------------------------ hostile requests

/** Hostile bodies (03-05), and with `parser` the requests Node's HTTP parser refuses (the proxy, 04-05). */
export function hostileRequests(options: FaultOptions & { parser: boolean }): VerifyStep {
  const cases = [...jsonCases(), ...(options.parser ? parserCases() : [])];
  const holdMs = 75_000;
  return {
    id: `fault-${options.stage}-hostile-requests`,
    logs: options.parser ? ['proxy', 'web'] : ['web'],
    name: `${cases.length} hostile requests through the published port: each a JSON 4xx, no 5xx, none held open`,
    timeoutMs: holdMs + 30_000,
    hint:
      'Bad input gets a 4xx with {"error": "<what to fix>"}: the body validation of src/ (UTF-8, surrogates, ' +
      "depth, numbers), and for what the HTTP parser refuses the proxy's clientError handler and its " +
      'timeouts. `docker compose logs web proxy`.',
    async run(ctx) {
      const port = Number(new URL(ctx.url).port || 80);
      const ask = (c: HostileCase) =>
        sendRaw(port, c.request, { timeoutMs: c.holdOpen ? holdMs : 10_000 }).then((answer) => ({
          c,
          answer,
        }));
      // The one that waits for the server's deadline runs beside the others.
      const held = Promise.all(cases.filter((c) => c.holdOpen).map(ask));
      const quick = [];
      for (const c of cases.filter((c) => !c.holdOpen)) quick.push(await ask(c));
      const results = [...quick, ...(await held)];
      const lines = results.map(({ c, answer }) => {
        const wrong = judgeAnswer(c, answer);
        const what =
          answer.status === 0
            ? `no answer (${answer.reason})`
            : `${answer.status} ${shortError(answer.body)}`;
        return {
          wrong,
          line: `${wrong ? '✗' : '✓'} ${c.name}: ${wrong ?? what}${c.holdOpen ? ` after ${seconds(answer.ms)}` : ''}`,
        };
      });
      const byStatus: Record<string, number> = {};
      for (const { answer } of results)
        byStatus[String(answer.status || 'no answer')] =
          (byStatus[String(answer.status || 'no answer')] ?? 0) + 1;
      const wrong = lines.filter((l) => l.wrong).length;
      const note = [
        `${results.length} hostile requests; answers: ${formatStatuses(byStatus)}; ${wrong} not a JSON 4xx`,
        ...lines.map((l) => l.line),
      ].join('\n');
      if (wrong > 0) fail(note);
      return note;
    },
  };
}

/** The "error" of a JSON body, cut at a word: what the client is told to fix. */
function shortError(body: string): string {
  let text = body.trim();
  try {
    const error = (JSON.parse(text) as { error?: unknown }).error;
    if (typeof error === 'string') text = JSON.stringify(error);
  } catch {}
  return text.length <= 72 ? text : `${text.slice(0, 72).replace(/\s+\S*$/, '')} ...`;
}

// ------------------------------------------------------------ shared

/** One marked POST before the stream: the records of the run all come after its id. */
async function baselineId(ctx: VerifyContext, fault: string, run: string): Promise<number> {
  const res = await ctx.http.postJson('/records', { fault, run, n: -1 });
  const id = (res.json as { id?: unknown } | undefined)?.id;
  if (res.status !== 201 || !Number.isInteger(id)) {
    fail(`before the fault, POST /records answered ${res.status} ${res.text.slice(0, 160)}, expected 201`);
  }
  return id as number;
}

async function composeMust(ctx: VerifyContext, args: string[]): Promise<void> {
  const result = await ctx.compose.run(args, { timeoutMs: 60_000 });
  if (result.code !== 0) fail(`docker compose ${args.join(' ')}: ${commandError(result)}`);
}

/** Waits until the stream has answered only 201s for STEADY_MS since `since`, at most RECOVER_MS. */
async function steady(answers: readonly WriteAnswer[], since: number): Promise<void> {
  await within(
    RECOVER_MS,
    async () => {
      const now = performance.now();
      const recent = answers.filter((a) => a.answeredAt >= Math.max(since, now - STEADY_MS));
      const lastBad = answers.filter((a) => a.status !== 201).at(-1)?.answeredAt ?? 0;
      return now - Math.max(since, lastBad) >= STEADY_MS && recent.length > 0 ? true : undefined;
    },
    500,
  );
}

/**
 * The containers that a fault made unhealthy must heal by themselves (no
 * restart by hand); then verify's up() makes sure every service is there.
 * Those that did not are restarted, so that the figures can still be read and
 * the next steps find a working stack; the line says so, as a broken promise.
 */
async function heal(ctx: VerifyContext): Promise<string> {
  const t0 = performance.now();
  let sick: { name: string; service: string; health: string }[] = [];
  const healed = await within(
    HEAL_MS,
    async () => {
      const containers = await ctx.compose.ps();
      sick = containers.filter((c) => c.state === 'running' && c.health !== '' && c.health !== 'healthy');
      return sick.length === 0 ? true : undefined;
    },
    1000,
  );
  if (!healed) {
    const names = sick.map((c) => c.name);
    await runCommand('docker', ['restart', '--time', '10', ...names], { timeoutMs: 120_000 });
    await ctx.up();
    return (
      `BROKEN: ${sick.map((c) => `${c.name} ${c.health}`).join(', ')} still ${seconds(HEAL_MS)} after the ` +
      'fault ended (restarted by hand for the figures)'
    );
  }
  await ctx.up();
  return `every container healthy again ${seconds(performance.now() - t0)} after the stream ended`;
}

/**
 * Waits until the archive volume holds a file for each id (or no new one came
 * for ARCHIVE_STALL_MS), then asks GET /records/:id/archive of each and counts
 * those archived exactly once.
 */
async function archiveOnce(ctx: VerifyContext, ids: readonly number[]): Promise<ArchiveTally> {
  const t0 = performance.now();
  let files: string[] = [];
  let have = -1;
  let progressAt = t0;
  while (performance.now() - t0 < ARCHIVE_MAX_MS) {
    files = (await exec(ctx.compose, 'worker', ['ls', '-1', '/archive'])).split('\n').filter(Boolean);
    const names = new Set(files);
    const now = ids.filter((id) => names.has(archiveFileName(id))).length;
    if (now === ids.length) break;
    if (now > have) progressAt = performance.now();
    have = now;
    if (performance.now() - progressAt > ARCHIVE_STALL_MS) break;
    await sleep(3_000);
  }
  const statuses: ArchiveAnswer[] = [];
  for (let i = 0; i < ids.length; i += 4) {
    statuses.push(...(await Promise.all(ids.slice(i, i + 4).map((id) => archiveAnswer(ctx, id)))));
  }
  const logs = await ctx.compose.run(['logs', '--no-color', 'worker'], { timeoutMs: 30_000 });
  const wrote = new Map<number, number>();
  for (const match of logs.stdout.matchAll(/: wrote record-(\d+)\.json\.zz /g)) {
    const id = Number(match[1]);
    wrote.set(id, (wrote.get(id) ?? 0) + 1);
  }
  return tallyArchives(statuses, files, wrote);
}

async function archiveAnswer(ctx: VerifyContext, id: number): Promise<ArchiveAnswer> {
  const res = await ctx.http.get(`/records/${id}/archive`);
  const body = (res.json ?? {}) as Partial<ArchiveAnswer>;
  if (res.status !== 200)
    return { id, state: `answered ${res.status}`, archivedAt: null, error: res.text.slice(0, 80) };
  return { id, state: String(body.state), archivedAt: body.archivedAt ?? null, error: body.error ?? null };
}

function streamText(load: Pick<StreamOptions, 'clients' | 'paceMs'>): string {
  return `${load.clients} at a time, each one every ${load.paceMs} ms`;
}

/** The note when every promise held; a failure with the same figures and what broke otherwise. */
function judge(report: FaultReport, promises: Promises): string {
  const note = formatReport(report);
  const broken = [
    ...brokenPromises(report, promises),
    ...(report.more ?? []).filter((l) => l.startsWith('BROKEN: ')).map((l) => l.slice(8)),
  ];
  if (broken.length > 0) fail(`${note}\nBROKEN: ${broken.join('; ')}`);
  return note;
}
