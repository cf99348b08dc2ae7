// Stage 06: the system of 05 as a stack on a Docker Swarm of several nodes.
// Every HTTP check of 01-05 still holds (with a token on the writes); the ones
// that looked at compose containers and volumes give way to checks through a
// manager's API (SWARM_HOST): replicas spread over nodes, state pinned to its
// node, archives in the shared store, secrets, tokens enforced. The rolling
// update and the lost node are verify's (tools/verify/cluster.ts).
import { inflateSync } from 'node:zlib';
import { describe, expectEqual, expectJsonObject, expectStatus, fail } from '../assert.ts';
import { createHttp, type Http, loopbackUrl } from '../http.ts';
import { seconds, within } from '../poll.ts';
import { runningTasks, type Swarm, serviceLogs, swarmDocker, swarmOf, tasksOf } from '../swarm.ts';
import { forgedToken, operatorToken } from '../tokens.ts';
import type { StageChecks } from '../types.ts';
import { expectRecord, postRecord, type Record_ } from './03-db.ts';
import { DASHBOARD, expectArchived } from './05-worker.ts';

const RECORDS = 8;
const ARCHIVE_MS = 30_000;

const SWARM_HINT =
  'Ask the swarm: `docker -H tcp://127.0.0.1:2375 stack ps workshop` (where each task runs, and why one ' +
  'failed), `docker -H ... service logs workshop_<service>`. See "Run it" in the chapter.';
const TOKEN_HINT =
  'POST /records, GET /__lb and the dashboard take `Authorization: Bearer <JWT>` (src/auth.ts), checked ' +
  'against the public key of the secret jwt-public-key: `npm run token -- records:write dashboard` makes one.';

/** POST /records with a given Authorization header (or none), on a client without the checks' token. */
async function postWith(url: string, authorization?: string) {
  return createHttp(url).request('POST', '/records', {
    body: JSON.stringify({ from: 'npm run check', unauthorized: true }),
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
  });
}

/** A refusal: the status, JSON `{error, reason}` with the reason expected. */
function expectRefused(res: Awaited<ReturnType<Http['get']>>, status: number, reason: string): void {
  expectStatus(res, status);
  const body = expectJsonObject(res);
  if (body.reason !== reason || typeof body.error !== 'string') {
    fail(
      `${res.method} ${res.path} answered ${describe(res)}, expected {"error": ..., "reason": "${reason}"}`,
    );
  }
}

/** The tasks of a service on each node: "node1 ×2, node2 ×1". */
function perNode(nodes: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const node of nodes) counts.set(node, (counts.get(node) ?? 0) + 1);
  return [...counts].map(([node, n]) => `${node} ×${n}`).join(', ');
}

/** Which node runs the web container that said X-Served-By. */
async function nodeOfReplica(swarm: Swarm): Promise<Map<string, string>> {
  return new Map((await tasksOf(swarm, 'web')).map((t) => [t.container, t.node]));
}

/** The node of the state (label state=true), where db and redis must run. */
async function stateNode(swarm: Swarm): Promise<string> {
  const out = await swarmDocker(swarm, [
    'node',
    'ls',
    '--filter',
    'node.label=state=true',
    '--format',
    '{{.Hostname}}',
  ]);
  const [node] = out.split('\n').filter(Boolean);
  if (!node) fail('no node is labelled state=true: docker node update --label-add state=true <node>');
  return node;
}

export default {
  retires: [
    // compose containers and volumes: in a swarm, tasks on nodes (the checks below)
    'web-healthy',
    'redis-healthy',
    'redis-holds-count',
    'migrate-done',
    'db-healthy',
    'db-volume',
    'lb-matches-containers',
    'proxy-healthy',
    'only-proxy-published',
    'archive-files',
    'archive-content',
    'worker-healthy',
    'archive-volume',
    'redis-keeps-queue',
    'dashboard-loopback',
    // the dashboard asks for a token now: 'dashboard-with-token'
    'dashboard-page',
  ],
  checks: [
    {
      id: 'token-required',
      logs: ['web'],
      name: 'POST /records without a token, with a forged one, an expired one: 401 that says which',
      hint: TOKEN_HINT,
      async run(ctx) {
        expectRefused(await postWith(ctx.url), 401, 'missing');
        expectRefused(await postWith(ctx.url, 'Bearer not-a-jwt'), 401, 'malformed');
        expectRefused(
          await postWith(ctx.url, `Bearer ${await forgedToken(['records:write'])}`),
          401,
          'forged',
        );
        const expired = await operatorToken(ctx, ['records:write'], Math.floor(Date.now() / 1000) - 3600);
        expectRefused(await postWith(ctx.url, `Bearer ${expired}`), 401, 'expired');
      },
    },
    {
      id: 'token-scope',
      logs: ['web'],
      name: 'POST /records with a good token of another scope: 403 "scope"',
      hint: TOKEN_HINT,
      async run(ctx) {
        const token = await operatorToken(ctx, ['dashboard']);
        expectRefused(await postWith(ctx.url, `Bearer ${token}`), 403, 'scope');
      },
    },
    {
      id: 'reads-open',
      logs: ['web'],
      name: 'reads need no token: GET /records/:id and /records/:id/archive answer 200 without one',
      hint: 'Only writes take a token (app.ts: app.post("/records", requireScope(...))).',
      async run(ctx) {
        const { record } = await postRecord(ctx.http);
        const open = createHttp(ctx.url);
        await expectRecord(open, record);
        expectStatus(await open.get(`/records/${record.id}/archive`), 200);
      },
    },
    {
      id: 'lb-needs-token',
      logs: ['proxy'],
      name: 'GET /__lb without a token answers 401; with one of scope dashboard, the replicas',
      hint: `${TOKEN_HINT} The proxy checks it itself (src/proxy.ts).`,
      async run(ctx) {
        expectRefused(await createHttp(ctx.url).get('/__lb'), 401, 'missing');
        const res = await ctx.http.get('/__lb');
        expectStatus(res, 200);
      },
    },
    {
      id: 'dashboard-with-token',
      logs: ['dashboard'],
      name: 'the dashboard answers 401 without a token, and shows the archive queue with one',
      hint: `${TOKEN_HINT} The browser way: open /login?token=<JWT> once, the page keeps it in a cookie.`,
      async run(ctx) {
        const url = loopbackUrl(ctx, DASHBOARD.variable, DASHBOARD.port);
        expectRefused(await createHttp(url).get('/api/queues'), 401, 'missing');
        const token = await operatorToken(ctx, ['dashboard']);
        const api = await createHttp(url).get('/api/queues', {
          headers: { authorization: `Bearer ${token}` },
        });
        expectStatus(api, 200);
        const queues = expectJsonObject(api).queues;
        if (!Array.isArray(queues) || !queues.some((q) => q?.name === 'archive')) {
          fail(`GET /api/queues of the dashboard answered ${describe(api)}, expected the queue "archive"`);
        }
      },
    },
    {
      id: 'replicas-on-nodes',
      logs: ['web', 'worker'],
      name: 'web and worker replicas run on at least two nodes, at most two per node',
      docker: true,
      hint: `deploy.placement.max_replicas_per_node: 2 in stack.yaml spreads them. ${SWARM_HINT}`,
      async run(ctx) {
        const swarm = swarmOf(ctx);
        const notes: string[] = [];
        for (const service of ['web', 'worker']) {
          const nodes = (await runningTasks(swarm, service)).map((t) => t.node);
          const spread = perNode(nodes);
          if (new Set(nodes).size < 2) fail(`the running ${service} tasks are on ${spread || 'no node'}`);
          if (/×[3-9]/.test(spread)) fail(`more than two ${service} tasks on one node: ${spread}`);
          notes.push(`${service}: ${spread}`);
        }
        return notes.join('; ');
      },
    },
    {
      id: 'state-pinned',
      logs: ['db', 'redis'],
      name: 'db and redis run on the node labelled state=true, where their volumes are',
      docker: true,
      hint: `placement.constraints: [node.labels.state == true] in stack.yaml. ${SWARM_HINT}`,
      async run(ctx) {
        const swarm = swarmOf(ctx);
        const node = await stateNode(swarm);
        for (const service of ['db', 'redis']) {
          const tasks = await runningTasks(swarm, service);
          if (tasks.length !== 1 || tasks[0].node !== node) {
            fail(
              `${service} runs on ${perNode(tasks.map((t) => t.node)) || 'no node'}, expected ${node} alone`,
            );
          }
        }
        return `state on ${node}`;
      },
    },
    {
      id: 'migrate-job-complete',
      logs: ['migrate'],
      name: 'the migrate job ran to its end',
      docker: true,
      hint: `migrate is a replicated-job; \`docker -H ... service logs workshop_migrate\`. ${SWARM_HINT}`,
      async run(ctx) {
        const tasks = await tasksOf(swarmOf(ctx), 'migrate');
        if (!tasks.some((t) => t.state === 'complete')) {
          fail(
            `the migrate tasks are ${tasks.map((t) => t.state).join(', ') || 'none'}, expected one complete`,
          );
        }
      },
    },
    {
      id: 'secrets-not-in-stack',
      logs: ['web'],
      name: 'no password or key in any service definition: only *_FILE paths to secrets',
      docker: true,
      hint: 'Passwords and keys are Docker secrets (`secrets:` in stack.yaml), read from /run/secrets/ (src/secrets.ts).',
      async run(ctx) {
        const swarm = swarmOf(ctx);
        const names = (await swarmDocker(swarm, ['stack', 'services', '--format', '{{.Name}}', swarm.stack]))
          .split('\n')
          .filter(Boolean);
        const specs = JSON.parse(await swarmDocker(swarm, ['service', 'inspect', ...names])) as {
          Spec: { Name: string; TaskTemplate: { ContainerSpec: { Env?: string[] } } };
        }[];
        for (const spec of specs) {
          const env = spec.Spec.TaskTemplate.ContainerSpec.Env ?? [];
          const exposed = env.filter((e) => /PASSWORD=|KEY=|:[^@/]+@/.test(e));
          if (exposed.length > 0)
            fail(
              `${spec.Spec.Name} has ${exposed.map((e) => e.split('=')[0]).join(', ')} in its environment`,
            );
        }
        return `${specs.length} services, secrets as files only`;
      },
    },
    {
      id: 'archived-across-nodes',
      logs: ['worker', 'web'],
      name: `${RECORDS} records written through web on one node are archived by workers on others`,
      docker: true,
      timeoutMs: 90_000,
      hint: `The archives go to the shared store (src/worker-archive-store.ts), so any worker on any node may take a job. ${SWARM_HINT}`,
      async run(ctx) {
        const swarm = swarmOf(ctx);
        const replicas = await nodeOfReplica(swarm);
        const written: { record: Record_; node: string }[] = [];
        for (let i = 0; i < RECORDS; i++) {
          const { record, res } = await postRecord(ctx.http);
          written.push({ record, node: replicas.get(res.headers.get('x-served-by') ?? '') ?? '?' });
        }
        await expectArchived(
          ctx.http,
          written.map((w) => w.record.id),
          ARCHIVE_MS,
        );
        // The worker that archived each record says so in its log; the log says its node.
        const archivedOn = new Map<number, string>();
        for (const { node, line } of await serviceLogs(swarm, 'worker')) {
          const match = /^worker: record (\d+): stored /.exec(line);
          if (match) archivedOn.set(Number(match[1]), node);
        }
        const pairs = written.map((w) => ({ ...w, archiver: archivedOn.get(w.record.id) }));
        const missing = pairs.filter((p) => !p.archiver);
        if (missing.length > 0)
          fail(`no worker log says it stored record(s) ${missing.map((p) => p.record.id).join(', ')}`);
        const crossed = pairs.filter((p) => p.archiver !== p.node);
        const writers = new Set(pairs.map((p) => p.node));
        const archivers = new Set(pairs.map((p) => p.archiver));
        if (crossed.length === 0)
          fail(`every record was archived on the node that wrote it: ${[...writers].join(', ')}`);
        return (
          `${RECORDS} records written through web on ${[...writers].sort().join(', ')}, archived by workers on ` +
          `${[...archivers].sort().join(', ')}; ${crossed.length} of them on another node than their writer's`
        );
      },
    },
    {
      id: 'archive-in-store',
      logs: ['worker', 'db'],
      name: "a record's archive is one row in the store (archives), and inflates to the record",
      docker: true,
      hint: 'src/worker-archive-store.ts: the bytes in archives.bytes, one row per record (its primary key), in the transaction that sets archived_at.',
      async run(ctx) {
        const swarm = swarmOf(ctx);
        const { record } = await postRecord(ctx.http);
        await expectArchived(ctx.http, [record.id], ARCHIVE_MS);
        const [db] = await runningTasks(swarm, 'db');
        if (!db) fail('no db task runs');
        // The db task runs on the manager here; its container is reached through that engine.
        const sql = `SELECT count(*) OVER () || ' ' || encode(bytes, 'hex') FROM archives WHERE record_id = ${record.id}`;
        const out = await swarmDocker(swarm, [
          'exec',
          db.container,
          'psql',
          '-U',
          'workshop',
          '-d',
          'workshop',
          '-Atc',
          sql,
        ]);
        const [count = '0', hex = ''] = out.replace(/\s+/g, ' ').trim().split(' ').filter(Boolean);
        if (count !== '1') fail(`archives holds ${count} rows for record ${record.id}, expected 1`);
        const archived = JSON.parse(inflateSync(Buffer.from(hex, 'hex')).toString('utf8'));
        expectEqual(
          archived,
          (await expectRecord(ctx.http, record)).json,
          `the archive of record ${record.id}`,
        );
      },
    },
    {
      id: 'all-tasks-healthy',
      logs: ['web', 'worker', 'proxy', 'dashboard', 'db', 'redis'],
      name: 'every service runs as many tasks as it wants',
      docker: true,
      hint: SWARM_HINT,
      async run(ctx) {
        const swarm = swarmOf(ctx);
        const ok = await within(
          20_000,
          async () => {
            const out = await swarmDocker(swarm, [
              'stack',
              'services',
              '--format',
              '{{.Name}} {{.Replicas}}',
              swarm.stack,
            ]);
            const short = out
              .split('\n')
              .filter(Boolean)
              .filter((line) => !/_migrate /.test(line));
            const bad = short.filter((line) => {
              const [running, wanted] = (line.split(' ')[1] ?? '').split('/');
              return running !== wanted;
            });
            return bad.length === 0 ? short.join(', ') : undefined;
          },
          1000,
        );
        if (!ok) fail(`not every service runs its replicas within ${seconds(20_000)}`);
        return ok;
      },
    },
  ],
} satisfies StageChecks;
