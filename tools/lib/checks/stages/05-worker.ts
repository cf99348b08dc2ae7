// Stage 05: a queue in Redis, workers that archive every new record into a
// volume of their own, and a dashboard on 127.0.0.1. Everything of 01-04 still
// holds; these add the archive's promise: every record is archived, once,
// into a file that holds it, whatever happens to a worker.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ComposeProject } from '../../compose.ts';
import {
  CheckFailed,
  describe,
  expectEqual,
  expectJsonError,
  expectJsonObject,
  expectStatus,
  fail,
} from '../assert.ts';
import { busyStart, dependencyStopped, downThenUp, hostileRequests, replicaStopped } from '../fault-steps.ts';
import { createHttp, type Http, loopbackUrl } from '../http.ts';
import { seconds, within } from '../poll.ts';
import { aVictim, containersOf, exec, expectHealthy, kill, mountsOf } from '../services.ts';
import type { StageChecks } from '../types.ts';
import { expectRecord, postRecord, type Record_ } from './03-db.ts';
import stage04 from './04-scale.ts';

/** Records posted by the archive check: a few, so that both workers get some. */
const RECORDS = 6;
/** An empty queue archives a record in milliseconds; a busy one (a class of 20) in seconds. */
const ARCHIVE_MS = 20_000;
/** The worker-killed step: each job's 4 steps slowed down so the kill lands in the middle of the burst. */
const BURST = { records: 40, concurrency: 8, stepDelayMs: 250, archiveMs: 120_000 };
/** The dashboard's port, as compose.yaml publishes it (on 127.0.0.1): the variable, and its default. */
export const DASHBOARD = { variable: 'DASHBOARD_PORT', port: 3000 };

const ARCHIVE_HINT =
  'The worker archives the records: `docker compose ps worker` (running, healthy?), `docker compose logs ' +
  'worker` (a job that fails says why, e.g. EACCES on /archive). Follow a job with ' +
  '`curl localhost:8080/records/<id>/archive`, or on the dashboard (http://localhost:3000).';

const DASHBOARD_HINT =
  '`docker compose ps dashboard`, `docker compose logs dashboard`; its port is DASHBOARD_PORT (3000 by ' +
  'default), published on 127.0.0.1 only (its `ports:` in compose.yaml), so open http://127.0.0.1:3000.';

/** GET /records/:id/archive, as the contract of stage 05 says. */
export interface ArchiveStatus {
  id: number;
  jobId: string;
  state: string;
  progress: number;
  attemptsMade: number | null;
  error: string | null;
  file: string | null;
  archivedAt: string | null;
  source: string;
}

export function archiveFileName(id: number): string {
  return `record-${id}.json.zz`;
}

export async function archiveStatus(http: Http, id: number): Promise<ArchiveStatus> {
  const res = await http.get(`/records/${id}/archive`);
  if (res.status === 404 && !/Record \d+ not found/.test(res.text)) {
    fail(
      `GET /records/${id}/archive answered ${describe(res)}: the app that answers has no archive; is it stage 05?`,
    );
  }
  expectStatus(res, 200);
  return expectJsonObject(res) as unknown as ArchiveStatus;
}

/** "record 7: active, progress 50" or "record 7: failed after 5 attempts: EACCES ..." */
function describeStatus(status: ArchiveStatus): string {
  const attempts = status.attemptsMade ? ` after ${status.attemptsMade} attempt(s)` : '';
  const error = status.error ? `: ${status.error}` : '';
  return `record ${status.id}: ${status.state}, progress ${status.progress}${attempts}${error}`;
}

/**
 * Asks GET /records/:id/archive of every record until each says completed,
 * with progress 100, its file and the time; fails with the ones that did not.
 */
export async function expectArchived(
  http: Http,
  ids: readonly number[],
  ms: number,
): Promise<ArchiveStatus[]> {
  const done = new Map<number, ArchiveStatus>();
  let pending: ArchiveStatus[] = [];
  await within(
    ms,
    async () => {
      pending = [];
      for (const id of ids.filter((id) => !done.has(id))) {
        const status = await archiveStatus(http, id);
        if (status.state === 'completed') done.set(id, status);
        else pending.push(status);
      }
      // A job that failed for good will not complete by waiting.
      return pending.length === 0 || pending.some((s) => s.state === 'failed') ? true : undefined;
    },
    500,
  );
  if (pending.length > 0) {
    const shown = pending.slice(0, 5).map(describeStatus).join('; ');
    const more = pending.length > 5 ? ` (and ${pending.length - 5} more)` : '';
    fail(`${pending.length} of ${ids.length} records not archived within ${seconds(ms)}: ${shown}${more}`);
  }
  const statuses = ids.map((id) => done.get(id) as ArchiveStatus);
  for (const status of statuses) {
    const { id } = status;
    if (status.progress !== 100)
      fail(`record ${id} is completed with progress ${status.progress}, expected 100`);
    if (status.file !== archiveFileName(id)) {
      fail(
        `record ${id} is completed with the file ${JSON.stringify(status.file)}, expected ${archiveFileName(id)}`,
      );
    }
    if (!status.archivedAt || Number.isNaN(Date.parse(status.archivedAt))) {
      fail(
        `record ${id} is completed, but archivedAt is ${JSON.stringify(status.archivedAt)}, expected a time`,
      );
    }
  }
  return statuses;
}

/**
 * `count` new records, `concurrency` POSTs at a time. With `resent`, a POST
 * that answers 503 ("nothing was stored, try again in a moment") is sent once
 * more after a second, as its Retry-After says, and what it answered is kept there.
 */
async function postRecords(
  http: Http,
  count: number,
  concurrency = 1,
  resent?: string[],
): Promise<Record_[]> {
  const records: Record_[] = [];
  let running = 0;
  const post = async () => {
    try {
      return (await postRecord(http)).record;
    } catch (err) {
      if (!resent || !(err instanceof CheckFailed) || !/ answered 503 /.test(err.message)) throw err;
      resent.push(err.message);
      await sleep(1000);
      return (await postRecord(http)).record;
    }
  };
  const client = async () => {
    while (records.length + running < count) {
      running++;
      try {
        records.push(await post());
      } finally {
        running--;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return records.sort((a, b) => a.id - b.id);
}

/** The names in the archive volume, as `docker compose exec worker ls /archive` shows them. */
async function archiveFiles(compose: ComposeProject): Promise<string[]> {
  return (await exec(compose, 'worker', ['ls', '-1', '/archive'])).split('\n').filter(Boolean);
}

/** Of the names in /archive, the record's archive, and its temporary files (a write that never finished). */
function filesOf(names: readonly string[], id: number): { archives: number; temporary: number } {
  const name = archiveFileName(id);
  return {
    archives: names.filter((n) => n === name).length,
    temporary: names.filter((n) => n.startsWith(`${name}.`)).length,
  };
}

/** The archive file of a record, inflated inside a worker container (the worker's own Node). */
async function inflateArchive(compose: ComposeProject, id: number): Promise<string> {
  const script =
    "const { readFileSync } = require('node:fs'); const { inflateSync } = require('node:zlib'); " +
    `process.stdout.write(inflateSync(readFileSync('/archive/${archiveFileName(id)}')));`;
  return exec(compose, 'worker', ['node', '-e', script]);
}

export default {
  checks: [
    {
      id: 'archive-job-id',
      logs: ['web', 'redis'],
      name: "POST /records answers 201 at once with the archive job's id and where to follow it",
      hint:
        'POST /records stores the record, adds its job to the queue in Redis and answers with ' +
        '{"archive": {"jobId": "archive-<id>", "status": "/records/<id>/archive", "queued": true}} ' +
        '(src/records.ts); "queued": false means Redis did not take the job in time. ' +
        '`docker compose logs web redis`.',
      async run({ http }) {
        const { record, res } = await postRecord(http);
        const archive = expectJsonObject(res).archive;
        expectEqual(
          archive,
          { jobId: `archive-${record.id}`, status: `/records/${record.id}/archive`, queued: true },
          `the "archive" of POST /records (record ${record.id})`,
        );
      },
    },
    {
      id: 'archive-completes',
      logs: ['worker', 'web', 'redis', 'db'],
      name: `${RECORDS} new records are archived: GET /records/:id/archive says completed, progress 100, the file`,
      hint: ARCHIVE_HINT,
      async run({ http }) {
        const t0 = performance.now();
        const records = await postRecords(http, RECORDS, RECORDS);
        await expectArchived(
          http,
          records.map((r) => r.id),
          ARCHIVE_MS,
        );
        return `${RECORDS} records posted at once, all archived ${seconds(performance.now() - t0)} later`;
      },
    },
    {
      id: 'archive-unknown-record',
      logs: ['web', 'db'],
      name: 'GET /records/<unknown id>/archive answers 404 with a JSON error',
      hint: 'A record that does not exist has no archive: a 404, not a 500 (src/records-archive.ts). `docker compose logs web`.',
      async run({ http }) {
        const id = 2_147_483_000;
        const message = expectJsonError(await http.get(`/records/${id}/archive`), 404);
        if (!message.includes(String(id)))
          fail(`the 404 says "${message}", expected "Record ${id} not found"`);
      },
    },
    {
      id: 'archive-files',
      logs: ['worker'],
      name: 'the archive volume holds one file per record (docker compose exec worker ls /archive)',
      docker: true,
      hint: `${ARCHIVE_HINT} The files are in /archive of the worker containers: \`docker compose exec worker ls /archive\`.`,
      async run({ http, compose }) {
        const records = await postRecords(http, 3);
        await expectArchived(
          http,
          records.map((r) => r.id),
          ARCHIVE_MS,
        );
        const names = await archiveFiles(compose);
        for (const { id } of records) {
          const { archives, temporary } = filesOf(names, id);
          if (archives !== 1 || temporary !== 0) {
            const seen = names.filter((n) => n.startsWith(archiveFileName(id))).join(', ') || 'nothing';
            fail(`for record ${id}, /archive holds ${seen}; expected ${archiveFileName(id)} alone`);
          }
        }
      },
    },
    {
      id: 'archive-content',
      logs: ['worker'],
      name: 'an archive file inflates (zlib) to the record, as GET /records/:id gives it',
      docker: true,
      hint: `${ARCHIVE_HINT} The file is the zlib (deflate) of the JSON of {"id", "data"} (src/worker-archiver.ts, src/worker-archive-file.ts).`,
      async run({ http, compose }) {
        const [record] = await postRecords(http, 1);
        if (!record) fail('no record was created');
        await expectArchived(http, [record.id], ARCHIVE_MS);
        const text = await inflateArchive(compose, record.id);
        let archived: unknown;
        try {
          archived = JSON.parse(text);
        } catch {
          fail(
            `${archiveFileName(record.id)} inflates to ${JSON.stringify(text.slice(0, 160))}, which is not JSON`,
          );
        }
        const res = await expectRecord(http, record);
        expectEqual(archived, res.json, `the JSON in ${archiveFileName(record.id)}`);
      },
    },
    {
      id: 'worker-healthy',
      logs: ['worker'],
      name: 'every worker container runs and is healthy',
      docker: true,
      hint:
        'A worker is healthy while its heartbeat file is fresh, which it touches only while Redis answers ' +
        '(src/worker-healthcheck.ts). `docker compose ps worker`, `docker compose logs worker redis`.',
      async run({ compose }) {
        await expectHealthy(compose, 'worker');
      },
    },
    {
      id: 'archive-volume',
      logs: ['worker'],
      name: 'the workers keep the archive in the named volume archive, which no other service mounts',
      docker: true,
      hint:
        'compose.yaml mounts the volume archive at /archive in worker, and nowhere else; the Dockerfile ' +
        'makes /archive owned by node so that an empty volume is writable (`docker compose down -v` after ' +
        'changing it). `docker volume ls`, `docker compose config`.',
      async run({ compose }) {
        const expected = `${compose.project}_archive`;
        for (const worker of await containersOf(compose, 'worker')) {
          const mount = (await mountsOf(worker)).find((m) => m.Destination === '/archive');
          if (mount?.Type !== 'volume' || mount.Name !== expected) {
            const seen = mount ? `${mount.Type} ${mount.Name ?? mount.Source}` : 'nothing';
            fail(`/archive in ${worker.name} is ${seen}, expected the volume ${expected}`);
          }
        }
        for (const other of (await compose.ps()).filter((c) => c.service !== 'worker')) {
          if ((await mountsOf(other)).some((m) => m.Name === expected))
            fail(`${other.name} mounts ${expected} too`);
        }
      },
    },
    {
      id: 'redis-keeps-queue',
      logs: ['redis'],
      name: 'Redis keeps the queue: appendonly yes, maxmemory-policy noeviction, /data in the volume redis-data',
      docker: true,
      hint:
        'A queue needs Redis to keep its data: `command: redis-server --appendonly yes --maxmemory-policy ' +
        'noeviction` and a volume on /data in compose.yaml. Look: `docker compose exec redis redis-cli ' +
        'CONFIG GET appendonly`.',
      async run({ compose }) {
        for (const [name, expected] of [
          ['appendonly', 'yes'],
          ['maxmemory-policy', 'noeviction'],
        ]) {
          const answer = (await exec(compose, 'redis', ['redis-cli', 'CONFIG', 'GET', name as string])).split(
            '\n',
          );
          if (answer[1]?.trim() !== expected) {
            fail(
              `redis-cli CONFIG GET ${name} says ${JSON.stringify(answer.join(' '))}, expected ${expected}`,
            );
          }
        }
        const [redis] = await containersOf(compose, 'redis');
        const data = redis ? (await mountsOf(redis)).find((m) => m.Destination === '/data') : undefined;
        const volume = `${compose.project}_redis-data`;
        if (data?.Type !== 'volume' || data.Name !== volume) {
          fail(
            `/data in redis is ${data ? `${data.Type} ${data.Name ?? data.Source}` : 'nothing'}, expected ${volume}`,
          );
        }
      },
    },
    {
      id: 'dashboard-loopback',
      logs: ['dashboard'],
      name: 'the dashboard runs, is healthy, and is published on 127.0.0.1 only',
      docker: true,
      hint: `The dashboard has no login: whoever reaches it can change the queue. ${DASHBOARD_HINT}`,
      async run({ compose }) {
        const containers = await expectHealthy(compose, 'dashboard');
        const ports = containers.flatMap((c) => c.ports);
        if (ports.length === 0) fail('the dashboard publishes no port on the host');
        const open = ports.filter((p) => p.address !== '127.0.0.1');
        if (open.length > 0) {
          fail(
            `the dashboard is published on ${open.map((p) => `${p.address}:${p.published}`).join(', ')}, expected 127.0.0.1 only`,
          );
        }
      },
    },
    {
      id: 'dashboard-page',
      logs: ['dashboard', 'redis'],
      name: 'the dashboard (127.0.0.1, DASHBOARD_PORT) shows the archive queue',
      hint: DASHBOARD_HINT,
      async run(ctx) {
        const dashboard = createHttp(loopbackUrl(ctx, DASHBOARD.variable, DASHBOARD.port));
        const page = await dashboard.get('/');
        expectStatus(page, 200);
        if (!/<title>Bull Dashboard<\/title>/.test(page.text)) {
          fail(`GET / of the dashboard answered ${describe(page)}, expected the page "Bull Dashboard"`);
        }
        const api = await dashboard.get('/api/queues');
        expectStatus(api, 200);
        const queues = expectJsonObject(api).queues;
        if (!Array.isArray(queues) || !queues.some((q) => q?.name === 'archive')) {
          fail(
            `GET /api/queues of the dashboard answered ${describe(api)}, expected a queue named "archive"`,
          );
        }
      },
    },
  ],
  verify: {
    scale: { web: 4, worker: 2 },
    extras: [
      {
        id: 'worker-killed-during-burst',
        logs: ['worker', 'web', 'redis'],
        name: `a worker killed (docker kill) during a burst of ${BURST.records} records: each is archived exactly once`,
        timeoutMs: 420_000,
        hint:
          'A job whose worker dies is back in the queue once its lock runs out (WORKER_LOCK_DURATION_MS, ' +
          'then a stalled check, WORKER_STALLED_INTERVAL_MS), and every step must be safe to do again: the ' +
          'file written once (src/worker-archive-file.ts), archived_at kept from the first time. ' +
          '`docker compose logs worker` (its "stalled" lines).',
        async run(ctx) {
          const { compose, http } = ctx;
          // Slower workers (each job 4 x 250 ms), so that the kill lands while they work.
          await ctx.up({ WORKER_STEP_DELAY_MS: String(BURST.stepDelayMs) });
          const victim = await aVictim(compose, 'worker');
          const t0 = performance.now();
          const resent: string[] = [];
          const records = await postRecords(http, BURST.records, BURST.concurrency, resent);
          const ids = records.map((r) => r.id);
          // The kill: once the first record is archived, with the rest in the queue or in hand.
          const first = await within(ARCHIVE_MS, async () => {
            for (const id of ids) if ((await archiveStatus(http, id)).state === 'completed') return id;
            return undefined;
          });
          if (first === undefined)
            fail(`none of ${ids.length} records was archived within ${seconds(ARCHIVE_MS)}`);
          await kill(victim);
          await expectArchived(http, ids, BURST.archiveMs);
          const archivedMs = performance.now() - t0;
          // What the workers did (the killed one's log is still there) and what is in the volume.
          const logs = await compose.run(['logs', '--no-color', 'worker'], { timeoutMs: 30_000 });
          const names = await archiveFiles(compose);
          // Back to the usual workers (no delay), both running, for what comes next.
          await ctx.up();
          const wrote = (id: number) =>
            logs.stdout.split('\n').filter((line) => line.includes(`: wrote ${archiveFileName(id)} `)).length;
          const duplicates = ids.filter((id) => filesOf(names, id).archives > 1 || wrote(id) > 1);
          const missing = ids.filter((id) => filesOf(names, id).archives === 0);
          const temporary = ids.reduce((sum, id) => sum + filesOf(names, id).temporary, 0);
          const found = ids.reduce((sum, id) => sum + filesOf(names, id).archives, 0);
          const stalled = (logs.stdout.match(/ stalled /g) ?? []).length;
          const numbers =
            `${ids.length} records posted; ${victim.name} killed once the first was archived; ` +
            `${found} archives found, ${duplicates.length} duplicates, ${missing.length} missing; ` +
            `${stalled} job(s) of the killed worker taken up again (stalled); ${temporary} temporary ` +
            `file(s) left; all archived ${seconds(archivedMs)} after the first POST` +
            (resent.length > 0 ? `; ${resent.length} POST(s) sent again after a 503: ${resent[0]}` : '');
          if (duplicates.length > 0)
            fail(`${numbers}. Written more than once: records ${duplicates.join(', ')}`);
          if (missing.length > 0) fail(`${numbers}. No file for records ${missing.join(', ')}`);
          return numbers;
        },
      },
      // The fault suite (tools/check/fault-steps.ts). Extras are a stage's own: 04's kill is run here too.
      hostileRequests({ stage: '05', parser: true }),
      ...stage04.verify.extras
        .filter((step) => step.id === 'replica-killed-under-load')
        .map((step) => ({ ...step, id: `${step.id}-05` })),
      replicaStopped({ stage: '05', archive: true }),
      dependencyStopped({ stage: '05', service: 'db', outageMs: 30_000, archive: true }),
      dependencyStopped({
        stage: '05',
        service: 'redis',
        outageMs: 20_000,
        visits: true,
        allAcknowledged: true,
        archive: true,
      }),
      downThenUp({ stage: '05', archive: true }),
      // Last: it starts the stack afresh (down -v).
      busyStart({ stage: '05' }),
    ],
  },
} satisfies StageChecks;
