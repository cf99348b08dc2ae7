// What only a real cluster shows, under a steady, bounded load of reads and
// writes: a rolling update of web that fails no request, and a node lost
// (its engine killed) whose replicas come back elsewhere with no acknowledged
// record lost. Each step counts what the clients saw.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fail } from '../lib/checks/assert.ts';
import { type Http, NoAnswer } from '../lib/checks/http.ts';
import { seconds, within } from '../lib/checks/poll.ts';
import { expectArchived } from '../lib/checks/stages/05-worker.ts';
import { runningTasks, type Swarm, swarmDocker, swarmOf } from '../lib/checks/swarm.ts';
import type { VerifyContext, VerifyStep } from '../lib/checks/types.ts';

/**
 * Clients at once, each pausing between its requests (about 100 requests a
 * second in all, at most), and the most requests one step sends: a steady,
 * bounded load on a 2-core machine that also runs the whole cluster.
 */
const LOAD = { concurrency: 4, pauseMs: 25, max: 4000, timeoutMs: 15_000 };
const ARCHIVE_MS = 120_000;
const WEB_REPLICAS = 4;
const WORKER_REPLICAS = 3;

interface Totals {
  sent: number;
  gets: number;
  posts: number;
  /** "502 ...": how many of each; empty when none failed. */
  failures: Map<string, number>;
  /** The ids of the records that got a 201. */
  acknowledged: number[];
}

/** GET / and POST /records, taking turns, `concurrency` at a time, until stop() (or `max`). */
function startLoad(http: Http) {
  const totals: Totals = { sent: 0, gets: 0, posts: 0, failures: new Map(), acknowledged: [] };
  let stopped = false;
  const failed = (key: string) => totals.failures.set(key, (totals.failures.get(key) ?? 0) + 1);
  const client = async () => {
    while (!stopped && totals.sent < LOAD.max) {
      const post = totals.sent++ % 2 === 1;
      try {
        if (post) {
          totals.posts++;
          const res = await http.request('POST', '/records', {
            body: JSON.stringify({ from: 'npm run verify', marker: randomUUID() }),
            headers: { 'content-type': 'application/json' },
            timeoutMs: LOAD.timeoutMs,
          });
          if (res.status === 201) totals.acknowledged.push((res.json as { id: number }).id);
          else failed(`POST ${res.status} ${res.text.trim().slice(0, 100)}`);
        } else {
          totals.gets++;
          const res = await http.get('/', { timeoutMs: LOAD.timeoutMs });
          if (res.status !== 200) failed(`GET ${res.status} ${res.text.trim().slice(0, 100)}`);
        }
      } catch (err) {
        if (!(err instanceof NoAnswer)) throw err;
        failed(`${post ? 'POST' : 'GET'} no answer (${err.reason})`);
      }
      await sleep(LOAD.pauseMs);
    }
  };
  const clients = Promise.all(Array.from({ length: LOAD.concurrency }, client));
  return {
    totals,
    stop: async () => {
      stopped = true;
      await clients;
      return totals;
    },
  };
}

function failedCount(totals: Totals): number {
  return [...totals.failures.values()].reduce((a, b) => a + b, 0);
}

function describeTotals(totals: Totals): string {
  const failures = [...totals.failures].map(([key, n]) => `${n} × ${key}`).join('; ');
  return (
    `${totals.sent} requests (${totals.gets} GET /, ${totals.posts} POST /records), ${failedCount(totals)} failed` +
    `${failures ? ` (${failures})` : ''}; ${totals.acknowledged.length} records acknowledged`
  );
}

/** Every acknowledged record archived, each once (the store's primary key). */
async function expectAllArchived(ctx: VerifyContext, totals: Totals): Promise<string> {
  const t0 = performance.now();
  await expectArchived(ctx.http, totals.acknowledged, ARCHIVE_MS);
  return `all ${totals.acknowledged.length} archived ${seconds(performance.now() - t0)} after the load ended`;
}

async function updateState(swarm: Swarm, service: string): Promise<string> {
  const out = await swarmDocker(swarm, [
    'service',
    'inspect',
    '--format',
    '{{json .UpdateStatus}}',
    `${swarm.stack}_${service}`,
  ]);
  return (JSON.parse(out.trim() || 'null') as { State?: string } | null)?.State ?? 'none';
}

/** "node1 ×2, node2 ×2" */
async function placement(swarm: Swarm, service: string): Promise<string> {
  const counts = new Map<string, number>();
  for (const t of await runningTasks(swarm, service)) counts.set(t.node, (counts.get(t.node) ?? 0) + 1);
  return [...counts]
    .sort()
    .map(([node, n]) => `${node} ×${n}`)
    .join(', ');
}

export const clusterSteps: readonly VerifyStep[] = [
  {
    id: 'rolling-update-under-load',
    logs: ['proxy', 'web'],
    name: `a rolling update of web (start-first, one at a time) under load, ${LOAD.concurrency} clients: no request fails`,
    timeoutMs: 420_000,
    hint:
      'update_config in stack.yaml: order start-first, a healthcheck that gates each new task; the proxy ' +
      'follows tasks.web and retries a request that never reached a replica. `docker -H ... service ps workshop_web`.',
    async run(ctx) {
      const swarm = swarmOf(ctx);
      const before = (await runningTasks(swarm, 'web')).map((t) => t.id);
      const load = startLoad(ctx.http);
      await sleep(2000);
      const t0 = performance.now();
      // --force: new tasks from the same image, as a new release would be rolled out.
      await swarmDocker(swarm, ['service', 'update', '--detach', '--force', `${swarm.stack}_web`]);
      const state = await within(
        360_000,
        async () => {
          const now = await updateState(swarm, 'web');
          return ['completed', 'paused', 'rollback_completed', 'rollback_paused'].includes(now)
            ? now
            : undefined;
        },
        2000,
      );
      const tookMs = performance.now() - t0;
      await sleep(3000);
      const totals = await load.stop();
      const after = (await runningTasks(swarm, 'web')).map((t) => t.id);
      const replaced = before.filter((id) => !after.includes(id)).length;
      const numbers = `${describeTotals(totals)}; update ${state ?? 'not done'} in ${seconds(tookMs)}, ${replaced} of ${before.length} replicas replaced`;
      if (state !== 'completed') fail(`${numbers}`);
      if (failedCount(totals) > 0) fail(numbers);
      return `${numbers}; ${await expectAllArchived(ctx, totals)}`;
    },
  },
  {
    id: 'node-lost-under-load',
    logs: ['proxy', 'web', 'worker'],
    name: 'a node lost (its engine killed) under load: its replicas run elsewhere, no acknowledged record is lost',
    timeoutMs: 480_000,
    hint:
      'Swarm marks a node down after missed heartbeats and starts its tasks on the others; jobs whose worker ' +
      'died come back when their lock runs out. `docker -H ... node ls`, `docker -H ... service ps workshop_web`.',
    async run(ctx) {
      const swarm = swarmOf(ctx);
      // Not the manager (node1, with the state and the published ports): the node with the most replicas.
      const tasks = [...(await runningTasks(swarm, 'web')), ...(await runningTasks(swarm, 'worker'))];
      const on = (node: string, service: string) =>
        tasks.filter((t) => t.node === node && t.service === service).length;
      const [victim] = ['node2', 'node3'].sort(
        (a, b) => on(b, 'web') - on(a, 'web') || on(b, 'worker') - on(a, 'worker'),
      );
      const lost = { web: on(victim, 'web'), worker: on(victim, 'worker') };
      const load = startLoad(ctx.http);
      await sleep(3000);
      const t0 = performance.now();
      const killed = await ctx.compose.run(['kill', victim], { timeoutMs: 60_000 });
      if (killed.code !== 0) fail(`docker compose kill ${victim} failed`);
      const back = await within(
        240_000,
        async () => {
          const web = await runningTasks(swarm, 'web');
          const worker = await runningTasks(swarm, 'worker');
          const ok = (tasks: typeof web, n: number) =>
            tasks.length === n && tasks.every((t) => t.node !== victim);
          return ok(web, WEB_REPLICAS) && ok(worker, WORKER_REPLICAS) ? performance.now() - t0 : undefined;
        },
        2000,
      );
      await sleep(3000);
      const totals = await load.stop();
      const where = `web on ${await placement(swarm, 'web')}, worker on ${await placement(swarm, 'worker')}`;
      const numbers =
        `${victim} ran ${lost.web} web and ${lost.worker} worker replicas; ${describeTotals(totals)}; ` +
        (back === undefined
          ? 'its replicas not back elsewhere'
          : `replicas running elsewhere ${seconds(back)} after the kill (${where})`);
      if (back === undefined) fail(numbers);
      return `${numbers}; ${await expectAllArchived(ctx, totals)}`;
    },
  },
];
