// 1. The load balancer: stage 04's replicas and proxy as real processes on
// loopback, against going to one replica directly and against nginx in front
// of the same replicas.
//
// The proxy finds its replicas through DNS, which a benchmark on loopback
// does not have. So, as in the stage's own tests, each replica listens on a
// port of its own on 127.0.0.1, and the real proxy runs from the stage's
// test/proxy-process.ts, which reads the replicas of each name from a file
// (REPLICAS_FILE): web-1, web-2 and web-4 are the first 1, 2 and 4 of them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMigratedDatabase } from '../../testing/isolation.ts';
import { freePort } from '../../testing/services.ts';
import { runStage, type StageProcess } from '../../testing/stage-process.ts';
import type { BenchContext } from './context.ts';
import { cpuSeconds, perRequestUs, pinApart } from './cpu.ts';
import { runLoad } from './load.ts';
import { findNginx, startNginx } from './nginx.ts';
import { ms, rate } from './render.ts';
import {
  type BalancerRun,
  type BalancerSection,
  type Endpoint,
  type LoadMode,
  type LoadResult,
  type Round,
  replicas as replicasText,
  type Target,
} from './report.ts';
import { combineRounds } from './stats.ts';

const STAGE = '04-scale';
/** A record like one a user would store. */
const RECORD = { title: 'A record', tags: ['bench', 'workshop'], done: false, count: 42 };

export function balancerSettings(quick: boolean) {
  const replicaCounts = [1, 2, 4];
  return quick
    ? { replicaCounts, connections: 16, warmupS: 0.5, rounds: 1, seconds: 1, latencyRate: 100, latencyS: 1 }
    : { replicaCounts, connections: 32, warmupS: 2, rounds: 3, seconds: 4, latencyRate: 200, latencyS: 2 };
}

/** Something to send the load to: a replica itself, or a proxy (its processes, for their CPU time). */
interface Contender {
  target: Target;
  url: string;
  pids: number[];
  /** Whether it gets latency runs too (the bare proxies do not: they are there for their CPU time). */
  latency: boolean;
}

const BARE_PROXY = join(import.meta.dirname, 'bare-proxy.ts');

/** What the proxy says about its replicas at GET /__lb. */
interface LbView {
  replicas: { address: string; state: string; requests: number; failures: number }[];
}

export async function benchBalancer(
  ctx: BenchContext,
  options: { install: boolean },
): Promise<{ section: BalancerSection; nginx?: string }> {
  const s = balancerSettings(ctx.quick);
  const log = (text: string) => ctx.progress('balancer', text);
  const notes: string[] = [];
  const { redisUrl } = await ctx.servers();

  const database = await createMigratedDatabase(STAGE);
  ctx.onCleanup(() => database.drop());

  const most = Math.max(...s.replicaCounts);
  const ports: number[] = [];
  while (ports.length < most) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const addresses = ports.map((port) => `127.0.0.1:${port}`);
  log(`${most} replicas of stages/${STAGE}/src/server.ts on 127.0.0.1, ports ${ports.join(', ')}`);
  const env = { REDIS_URL: `${redisUrl}/1`, DATABASE_URL: database.url };
  const replicas: StageProcess[] = [];
  ctx.onCleanup(() => Promise.all(replicas.map((r) => r.stop())));
  for (const [i, port] of ports.entries()) {
    replicas.push(
      await runStage(STAGE, { env: { ...env, PORT: String(port), REPLICA_NAME: `replica-${i + 1}` } }),
    );
  }

  const logDir = mkdtempSync(join(tmpdir(), 'workshop-bench-'));
  ctx.onCleanup(() => rmSync(logDir, { recursive: true, force: true }));
  // What the proxy reads instead of DNS (the format of test/proxy-process.ts).
  const replicasFile = join(logDir, 'replicas.json');
  const names = Object.fromEntries(s.replicaCounts.map((n) => [`web-${n}`, addresses.slice(0, n)]));
  writeFileSync(replicasFile, JSON.stringify({ names, down: false }));
  const nginx = await findNginx(options.install, log);
  if (!nginx.binary) notes.push(`nginx was not measured: ${nginx.why}`);

  const runs: BalancerRun[] = [];
  const replicaPids = replicas.map((r) => r.child.pid as number);
  let ownCoreSkipped = false;
  /** Measures the contenders in turns, round after round: a change in the machine's other load hits them all. */
  const measure = async (n: number, contenders: Contender[], modes: LoadMode[]) => {
    for (const endpoint of ['GET /', 'POST /records'] as Endpoint[]) {
      const request = (url: string) =>
        endpoint === 'GET /'
          ? { url: `${url}/` }
          : { url: `${url}/records`, method: 'POST' as const, json: RECORD };
      // Warm-up: the JIT compiles the hot paths, the connection pools fill.
      for (const c of modes.includes('throughput') ? contenders : []) {
        await runLoad({
          ...request(c.url),
          connections: s.connections,
          seconds: s.warmupS,
          maxRequests: 1_000_000,
        });
      }
      for (const mode of modes) {
        const measured = contenders.filter((c) => mode !== 'latency' || c.latency);
        const rounds = measured.map(() => [] as Round[]);
        for (let round = 0; round < s.rounds; round++) {
          for (const [i, c] of measured.entries()) {
            // own-core: the proxy on a CPU of its own, everything else on the other(s).
            const pinned = mode === 'own-core' ? pinApart(c.pids) : undefined;
            if (pinned && 'why' in pinned) {
              if (!ownCoreSkipped) notes.push(`No runs with the proxy on a core of its own: ${pinned.why}`);
              ownCoreSkipped = true;
              return;
            }
            const load1 = loadavg()[0] ?? 0;
            const cpuBefore = [cpuSeconds(c.pids), cpuSeconds(replicaPids)];
            const result = await runLoad(
              mode === 'latency'
                ? {
                    ...request(c.url),
                    connections: 2,
                    rate: s.latencyRate,
                    seconds: s.latencyS,
                    maxRequests: s.latencyRate * s.latencyS,
                  }
                : {
                    ...request(c.url),
                    connections: s.connections,
                    seconds: s.seconds,
                    maxRequests: 1_000_000,
                  },
            ).finally(() => pinned?.restore());
            rounds[i]?.push({
              ...result,
              load1,
              proxyCpuUs:
                c.target === 'direct' ? undefined : perRequestUs(cpuBefore[0], cpuSeconds(c.pids), result.ok),
              replicasCpuUs: perRequestUs(cpuBefore[1], cpuSeconds(replicaPids), result.ok),
            });
          }
        }
        for (const [i, c] of measured.entries()) {
          const what = `${c.target === 'direct' ? 'direct' : `${c.target} → ${replicasText(n)}`}, ${endpoint}`;
          const combined = combineRounds(rounds[i] ?? []);
          check(what, combined, notes);
          runs.push({ target: c.target, replicas: n, endpoint, mode, ...combined });
          log(
            `${what}, ${mode}: ${rate(combined.rps)} req/s` +
              (combined.rounds > 1 ? ` (${rate(combined.rpsMin)}…${rate(combined.rpsMax)})` : '') +
              ', ' +
              `p50 ${ms(combined.p50Ms)}, p99 ${ms(combined.p99Ms)}` +
              (combined.proxyCpuUs !== undefined ? `, proxy CPU ${combined.proxyCpuUs} µs/request` : '') +
              (combined.non2xx + combined.errors > 0 ? `, ${combined.non2xx + combined.errors} failed` : ''),
          );
        }
      }
    }
  };

  for (const n of s.replicaCounts) {
    const contenders: Contender[] = [];
    const stops: (() => Promise<unknown>)[] = [];
    try {
      if (n === 1)
        contenders.push({ target: 'direct', url: `http://${addresses[0]}`, pids: [], latency: true });
      const proxy = await runStage(STAGE, {
        script: 'test/proxy-process.ts',
        // Its log line per request goes into a file, as nginx's access log does.
        logFile: join(logDir, `proxy-${n}.log`),
        env: {
          PORT: '0',
          UPSTREAM_HOST: `web-${n}`,
          REPLICAS_FILE: replicasFile,
        },
      });
      stops.push(() => proxy.stop());
      contenders.push({ target: 'proxy', url: proxy.url, pids: [proxy.child.pid as number], latency: true });
      if (nginx.binary) {
        const server = await startNginx(nginx.binary, {
          host: '127.0.0.1',
          port: await freePort(),
          upstreams: addresses.slice(0, n),
          keepalive: 32,
          // The compose file's PROXY_TIMEOUT_MS and the proxy's defaults.
          readTimeoutS: 10,
          connectTimeoutS: 1,
          maxBodyBytes: 1_048_576,
        });
        stops.push(() => server.stop());
        contenders.push({ target: 'nginx', url: server.url, pids: [server.pid], latency: true });
      }
      if (n === 1) {
        for (const bare of ['http-proxy-3', 'node'] as const) {
          const forwarder = await runStage(STAGE, {
            script: BARE_PROXY,
            env: { BARE: bare, TARGET: addresses[0] as string },
          });
          stops.push(() => forwarder.stop());
          contenders.push({
            target: `bare-${bare}`,
            url: forwarder.url,
            pids: [forwarder.child.pid as number],
            latency: false,
          });
        }
      }
      await measure(n, contenders, n === 1 ? ['throughput', 'latency'] : ['throughput']);
      // Again, with the proxy (or nginx) on a core of its own: can it keep up
      // with what the replicas serve, when it does not share their CPUs?
      await measure(
        n,
        contenders.filter((c) => c.target === 'proxy' || c.target === 'nginx'),
        ['own-core'],
      );
      const view = (await (await fetch(`${proxy.url}/__lb`)).json()) as LbView;
      if (view.replicas.some((r) => r.state !== 'up' || r.failures > 0)) {
        notes.push(
          `proxy → ${replicasText(n)}: GET /__lb shows replicas down or failing: ${JSON.stringify(view.replicas)}`,
        );
      }
      log(
        `proxy → ${replicasText(n)}: requests per replica ${view.replicas.map((r) => r.requests).join(', ')}`,
      );
    } finally {
      await Promise.all(stops.map((stop) => stop()));
    }
  }
  return {
    section: {
      connections: s.connections,
      seconds: s.seconds,
      rounds: s.rounds,
      latencyRate: s.latencyRate,
      latencySeconds: s.latencyS,
      runs,
      notes,
    },
    nginx: nginx.version,
  };
}

/** A run in which nothing worked measures nothing; one with some failures is kept, with a note. */
function check(what: string, result: LoadResult, notes: string[]): void {
  const failed = result.non2xx + result.errors;
  if (result.ok === 0) {
    throw new Error(
      `${what}: no request succeeded (${result.non2xx} answers not 2xx, ${result.errors} without answer)`,
    );
  }
  if (failed > 0) notes.push(`${what}: ${failed} of ${result.ok + failed} requests failed`);
}
