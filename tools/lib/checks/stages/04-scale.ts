// Stage 04: several replicas of web behind a load balancer, `proxy`, the one
// service published on the host. Every check of 01-03 still holds (through the
// proxy); these add what replicas promise: they take turns, they share one
// counter and one database, the proxy knows them, and losing one costs nothing.
import { performance } from 'node:perf_hooks';
import type { ContainerState } from '../../compose.ts';
import { describe, expectJsonObject, expectStatus, fail } from '../assert.ts';
import { hostileRequests, replicaStopped } from '../fault-steps.ts';
import type { Http } from '../http.ts';
import { describeFailures, load, replicasOf } from '../load.ts';
import { seconds, within } from '../poll.ts';
import { addressesOf, aVictim, composeMust, expectHealthy, kill, runningContainers } from '../services.ts';
import type { CheckContext, StageChecks, VerifyContext } from '../types.ts';
import { concurrentVisits } from './02-compose.ts';
import { expectRecord, postRecord } from './03-db.ts';

/** Requests that may go out to see the replicas take turns: round robin needs one per replica. */
const TURNS = 20;
/** Visits at once in the counter check: more than the 20 of 02, so that every replica gets several. */
const CONCURRENT = 40;
/** Reads of one record: round robin over 4 replicas reads it through each of them 3 times. */
const READS = 12;
/** The proxy asks DNS every 2 s (RESOLVE_INTERVAL_MS): a change shows in GET /__lb within that, and then some. */
const DISCOVERY_MS = 10_000;

/** How long `docker compose up --scale` may take (it waits for migrate and the healthy dependencies). */
const SCALE_MS = 120_000;

/** The replica-killed step: as in the chapter's "Kill a replica under load". */
const LOAD = { total: 400, concurrency: 8, killAfter: 100, holdFrom: 300 };

const PROXY_HINT =
  "The proxy takes turns among the replicas that Docker's DNS gives for the name web: `docker compose ps web` " +
  '(how many run? `docker compose up -d --scale web=2`), `curl localhost:8080/__lb` (which ones does the ' +
  'proxy know?), `docker compose logs proxy`.';

export interface LbReplica {
  address: string;
  name: string | null;
  state: string;
  requests: number;
  failures: number;
  lastError: string | null;
}

/** GET /__lb: the proxy's list of replicas. */
export async function lbReplicas(http: Http): Promise<LbReplica[]> {
  const res = await http.get('/__lb');
  if (res.status === 404) {
    fail(
      `GET /__lb answered ${describe(res)}: a web replica answered, not the proxy; is proxy the published service?`,
    );
  }
  expectStatus(res, 200);
  const body = expectJsonObject(res);
  if (!Array.isArray(body.replicas)) fail(`GET /__lb answered ${describe(res)}, expected a list "replicas"`);
  return body.replicas as LbReplica[];
}

/** "172.18.0.5:8080 (3f2a1b4c5d6e) down: connect ECONNREFUSED" */
function describeReplica(replica: LbReplica): string {
  const error = replica.lastError ? `: ${replica.lastError}` : '';
  return `${replica.address} (${replica.name ?? 'name not known yet'}) ${replica.state}${error}`;
}

/** GET /__lb once it lists `count` replicas, every one up; fails with the last list after `ms`. */
async function expectLbReplicas(http: Http, count: number, ms: number): Promise<LbReplica[]> {
  let last: LbReplica[] = [];
  const listed = await within(ms, async () => {
    last = await lbReplicas(http);
    return last.length === count && last.every((r) => r.state === 'up') ? last : undefined;
  });
  if (!listed) {
    const seen = last.map(describeReplica).join(', ') || 'none';
    fail(
      `GET /__lb did not list ${count} replicas, all up, within ${ms / 1000} s; the last answer listed ${seen}`,
    );
  }
  return listed;
}

/** The ip part of the addresses that GET /__lb lists, against those of the running web containers. */
async function compareWithContainers(ctx: CheckContext): Promise<{ listed: string[]; running: string[] }> {
  const containers = await runningContainers(ctx.compose, 'web');
  const running = (await Promise.all(containers.map(addressesOf))).flat().sort();
  const listed = (await lbReplicas(ctx.http)).map((r) => r.address.replace(/:\d+$/, '')).sort();
  return { listed, running };
}

/** `up -d --scale web=N --no-recreate`, keeping the stage's other scaling (workers, from 05 on). */
async function scaleWeb(ctx: VerifyContext, replicas: number): Promise<void> {
  const scale = { ...ctx.scale, web: replicas };
  const args = Object.entries(scale).flatMap(([service, n]) => ['--scale', `${service}=${n}`]);
  await composeMust(ctx.compose, ['up', '-d', '--no-build', '--no-recreate', ...args], SCALE_MS);
}

export default {
  checks: [
    {
      id: 'replicas-take-turns',
      logs: ['proxy', 'web'],
      name: 'requests are spread over more than one web replica (X-Served-By)',
      hint: PROXY_HINT,
      async run({ http }) {
        const seen: string[] = [];
        for (let i = 0; i < TURNS && new Set(seen).size < 2; i++) {
          const res = await http.get('/healthz');
          const name = res.headers.get('x-served-by');
          if (!name) {
            fail(
              `GET /healthz answered ${describe(res)} without an X-Served-By header: is it stage 04 ` +
                'that runs on this port, with the proxy in front?',
            );
          }
          seen.push(name);
        }
        const replicas = [...new Set(seen)];
        if (replicas.length < 2) {
          fail(`${seen.length} requests were all answered by one replica, ${replicas[0]}`);
        }
      },
    },
    {
      id: 'counter-across-replicas',
      logs: ['web', 'redis'],
      name: `${CONCURRENT} visits at the same time, over the replicas, are each counted once`,
      hint:
        'Every replica must count in the one Redis (REDIS_URL redis://redis:6379 for web in compose.yaml) ' +
        "with one INCR: a count kept in a replica's memory, or read and then written back, loses visits. " +
        '`docker compose logs web redis`. (Someone else visiting at the same time? Run it again.)',
      async run({ http }) {
        const visits = await concurrentVisits(http, CONCURRENT);
        const replicas = replicasOf(visits.map((v) => v.servedBy));
        if (replicas.length === 0) fail(`none of the ${CONCURRENT} answers said X-Served-By`);
        if (replicas.length < 2) {
          fail(
            `${CONCURRENT} visits were answered by ${replicas.length} replica(s) only: ${replicas.join(', ')}`,
          );
        }
        return `${CONCURRENT} visits answered by ${replicas.length} replicas, counts ${Math.min(...visits.map((v) => v.count))} to ${Math.max(...visits.map((v) => v.count))}`;
      },
    },
    {
      id: 'records-across-replicas',
      logs: ['web', 'db'],
      name: 'a record written through one replica reads back the same through the others',
      hint:
        'Every replica must use the one database (DATABASE_URL postgres://...@db:5432/workshop for web in ' +
        "compose.yaml); a record in a replica's memory exists there only. `docker compose logs web db`.",
      async run({ http }) {
        const { record, res } = await postRecord(http);
        const writer = res.headers.get('x-served-by');
        if (!writer) fail(`POST /records answered ${describe(res)} without an X-Served-By header`);
        const readers: (string | null)[] = [];
        for (let i = 0; i < READS; i++) {
          readers.push((await expectRecord(http, record)).headers.get('x-served-by'));
        }
        const others = [...new Set(readers)].filter((name) => name && name !== writer);
        if (others.length === 0) {
          fail(
            `record ${record.id}, written by ${writer}, was read ${READS} times, always by ${writer} itself`,
          );
        }
      },
    },
    {
      id: 'lb-lists-replicas',
      logs: ['proxy', 'web'],
      name: 'GET /__lb lists the replicas that answer, every one up',
      hint:
        "GET /__lb is the proxy's own page (src/proxy.ts): a replica that is down shows its lastError, " +
        'and is back once its /healthz answers. `docker compose ps web`, `docker compose logs proxy web`.',
      async run({ http }) {
        const before = await lbReplicas(http);
        // Round robin: two turns each, and the proxy has learnt every name.
        const answered: (string | null)[] = [];
        for (let i = 0; i < Math.min(2 * before.length, TURNS); i++) {
          answered.push((await http.get('/healthz')).headers.get('x-served-by'));
        }
        const replicas = await lbReplicas(http);
        if (replicas.length < 2) {
          fail(
            `GET /__lb lists ${replicas.length} replica(s): ${replicas.map(describeReplica).join(', ') || 'none'}`,
          );
        }
        const down = replicas.filter((r) => r.state !== 'up');
        if (down.length > 0) fail(`GET /__lb says ${down.map(describeReplica).join(', ')}`);
        const names = new Set(replicas.map((r) => r.name));
        const unlisted = replicasOf(answered).filter((name) => !names.has(name));
        if (unlisted.length > 0) {
          fail(`replica(s) ${unlisted.join(', ')} answered, but GET /__lb does not list them`);
        }
      },
    },
    {
      id: 'lb-matches-containers',
      logs: ['proxy'],
      name: 'GET /__lb lists exactly the running web containers',
      docker: true,
      hint:
        "The proxy asks Docker's DNS for the name web every 2 s (RESOLVE_INTERVAL_MS) and keeps what it " +
        'gets: `docker compose ps web`, `docker compose logs proxy` (its lines "web: N replica(s)").',
      async run(ctx) {
        let last = { listed: [] as string[], running: [] as string[] };
        const same = await within(DISCOVERY_MS, async () => {
          last = await compareWithContainers(ctx);
          return last.listed.join() === last.running.join() ? true : undefined;
        });
        if (!same) {
          fail(
            `GET /__lb lists ${last.listed.join(', ') || 'no replica'}, the running web containers ` +
              `are at ${last.running.join(', ') || 'no address'} (for ${DISCOVERY_MS / 1000} s)`,
          );
        }
      },
    },
    {
      id: 'proxy-healthy',
      logs: ['proxy'],
      name: 'the proxy runs and is healthy',
      docker: true,
      hint:
        'The proxy is healthy when /healthz through it reaches a healthy replica (compose.yaml). ' +
        '`docker compose ps`, `docker compose logs proxy web`.',
      async run({ compose }) {
        await expectHealthy(compose, 'proxy');
      },
    },
    {
      id: 'only-proxy-published',
      logs: ['proxy'],
      name: 'only the proxy is published: the web containers have no port on the host',
      docker: true,
      hint:
        'In compose.yaml only proxy has `ports:` (WEB_PORT, 8080 by default); web has none (several ' +
        'replicas cannot share one host port). `docker compose ps` shows what is published; ' +
        '`docker compose up -d` after a change.',
      async run({ compose, url }) {
        const containers = (await compose.ps()).filter((c) => c.state === 'running');
        const shown = (c: ContainerState) =>
          c.ports.map((p) => `${p.address}:${p.published}->${p.target}`).join(', ');
        const web = containers.filter((c) => c.service === 'web' && c.published);
        if (web.length > 0)
          fail(`web publishes ports: ${web.map((c) => `${c.name} ${shown(c)}`).join('; ')}`);
        const proxy = containers.filter((c) => c.service === 'proxy');
        if (!proxy.some((c) => c.published)) fail('the proxy publishes no port on the host');
        // Other services may listen on the host for its owner only (127.0.0.1), never for the network.
        const open = containers.filter(
          (c) => c.service !== 'proxy' && c.ports.some((p) => !['127.0.0.1', '::1'].includes(p.address)),
        );
        if (open.length > 0) {
          fail(`published besides the proxy: ${open.map((c) => `${c.service} ${shown(c)}`).join('; ')}`);
        }
        // The checks talk to what answers on this machine's port: it must be this project's proxy.
        const { hostname, port } = new URL(url);
        const ports = proxy.flatMap((c) => c.ports.map((p) => String(p.published)));
        if (['localhost', '127.0.0.1'].includes(hostname) && !ports.includes(port || '80')) {
          fail(
            `the proxy publishes port ${ports.join(', ')}, but the checks ask ${url}: is another stage on ${port}?`,
          );
        }
      },
    },
  ],
  verify: {
    scale: { web: 4 },
    extras: [
      {
        id: 'replica-killed-under-load',
        logs: ['proxy', 'web'],
        name: `a replica killed (docker kill) during ${LOAD.total} requests, ${LOAD.concurrency} at a time: no request fails`,
        timeoutMs: 180_000,
        hint:
          'A request that a dying replica never answered must go to another replica (retry.ts, the retry ' +
          'rule); a refused or reset connection is no reason for a 502 on a GET. `docker compose logs proxy` ' +
          'shows each request and its tries.',
        async run(ctx) {
          const victim = await aVictim(ctx.compose, 'web');
          let killStartedAt = Number.POSITIVE_INFINITY;
          let killedAt = Number.POSITIVE_INFINITY;
          let killError: unknown;
          let killing: Promise<void> | undefined;
          const answers = await load(ctx.http, {
            path: '/',
            total: LOAD.total,
            concurrency: LOAD.concurrency,
            before: async (index) => {
              if (index === LOAD.killAfter) {
                killStartedAt = performance.now();
                killing = kill(victim).then(
                  () => {
                    killedAt = performance.now();
                  },
                  (err) => {
                    killError = err;
                  },
                );
              }
              // The last requests wait for the kill: some surely go out after it.
              if (index >= LOAD.holdFrom) await killing;
            },
          });
          if (killError) throw killError;
          const failed = answers.filter((a) => a.status !== 200);
          const before = replicasOf(answers.filter((a) => a.sentAt < killStartedAt).map((a) => a.servedBy));
          const afterKill = answers.filter((a) => a.sentAt > killedAt);
          const after = replicasOf(afterKill.map((a) => a.servedBy));
          const slowest = Math.max(...answers.map((a) => a.ms));
          // It leaves DNS, and so the proxy's list, within a few seconds.
          const gone = await within(DISCOVERY_MS, async () => {
            const listed = await lbReplicas(ctx.http);
            return listed.some((r) => r.name === victim.id) ? undefined : performance.now() - killedAt;
          });
          // Back to the stage's scaling, every replica healthy, for what comes next.
          await ctx.up();
          const numbers =
            `${answers.length} requests sent, ${failed.length} failed; ${victim.name} (${victim.id}) killed ` +
            `after request ${LOAD.killAfter}; replicas seen before: ${before.length}, after: ${after.length} ` +
            `(${afterKill.length} requests); slowest answer ${slowest} ms; ` +
            (gone === undefined
              ? 'still in GET /__lb'
              : `gone from GET /__lb ${seconds(gone)} after its kill`);
          if (failed.length > 0) fail(`${numbers}. Failed: ${describeFailures(failed)}`);
          if (after.includes(victim.id)) fail(`${numbers}; but the killed replica answered after its kill`);
          if (gone === undefined) fail(`${numbers} ${seconds(DISCOVERY_MS)} later`);
          return numbers;
        },
      },
      {
        id: 'scale-down-and-up',
        logs: ['proxy', 'web'],
        name: 'scaled from 4 replicas to 2 and back to 4: GET /__lb follows',
        timeoutMs: 300_000,
        hint:
          'The proxy learns the replicas from DNS every 2 s; a replica that left must leave its list, a new ' +
          'one must join it. `docker compose up -d --scale web=2 --no-recreate`, `docker compose logs proxy`.',
        async run(ctx) {
          const scaled = async (replicas: number) => {
            const t0 = performance.now();
            // Watched while compose works: the proxy may follow before compose is done.
            const listing = expectLbReplicas(ctx.http, replicas, SCALE_MS + DISCOVERY_MS).then(
              () => performance.now() - t0,
            );
            listing.catch(() => {}); // judged below, once compose is done
            await scaleWeb(ctx, replicas);
            const took = performance.now() - t0;
            const listed = await listing;
            return `to ${replicas}: GET /__lb listed ${replicas} replicas, all up, ${seconds(listed)} after \`up\` began (it took ${seconds(took)})`;
          };
          const down = await scaled(2);
          const up = await scaled(4);
          // Once the new replicas are healthy, each one takes its turn.
          await ctx.up();
          const seen: (string | null)[] = [];
          for (let i = 0; i < TURNS && replicasOf(seen).length < 4; i++) {
            seen.push((await ctx.http.get('/healthz')).headers.get('x-served-by'));
          }
          const answered = replicasOf(seen).length;
          if (answered < 4)
            fail(`after scaling back to 4, only ${answered} replicas answered ${seen.length} requests`);
          return `${down}; ${up}; then ${answered} replicas answered`;
        },
      },
      // The fault suite (tools/check/fault-steps.ts): what the proxy adds. Postgres and Redis stopped
      // run in 03 (the same web) and 05 (the same proxy), not here too: verify's time counts.
      hostileRequests({ stage: '04', parser: true }),
      replicaStopped({ stage: '04' }),
    ],
  },
} satisfies StageChecks;
