// 1. The load balancer: stage 04's replicas and proxy as real processes on
// loopback, against going to one replica directly and against nginx in front
// of the same replicas.
//
// The proxy finds its replicas through DNS (UPSTREAM_HOST, one UPSTREAM_PORT
// for all): it has no static list of addresses and ports. So, as in the
// stage's own tests, each replica listens on the same port at a loopback
// address of its own (127.0.0.2, 127.0.0.3, ...: on Linux all of 127/8 is
// loopback), and testing/dns-server.ts answers the names web-1, web-2 and
// web-4 with the first 1, 2 and 4 of them.
import { loadavg } from 'node:os';
import { startDnsServer } from '../../testing/dns-server.ts';
import { createTestDatabase } from '../../testing/isolation.ts';
import { freePort } from '../../testing/services.ts';
import { runStage, runStageToExit, type StageProcess } from '../../testing/stage-process.ts';
import type { BenchContext } from './context.ts';
import { cpuSeconds, perRequestUs } from './cpu.ts';
import { runLoad } from './load.ts';
import { findNginx, startNginx } from './nginx.ts';
import { ms, rate } from './render.ts';
import {
  type BalancerRun,
  type BalancerSection,
  type Endpoint,
  type LoadMode,
  type LoadResult,
  replicas as replicasText,
  type Target,
} from './report.ts';
import { round } from './stats.ts';

const STAGE = '04-scale';
/** A record like one a user would store. */
const RECORD = { title: 'A record', tags: ['bench', 'workshop'], done: false, count: 42 };

export function balancerSettings(quick: boolean) {
  return quick
    ? { replicaCounts: [1, 2, 4], connections: 16, warmupS: 0.5, seconds: 1, latencyRate: 100, latencyS: 1 }
    : { replicaCounts: [1, 2, 4], connections: 32, warmupS: 2, seconds: 8, latencyRate: 200, latencyS: 5 };
}

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

  const database = await createTestDatabase();
  ctx.onCleanup(() => database.drop());
  const migrate = await runStageToExit(STAGE, {
    script: 'src/migrate.ts',
    env: { DATABASE_URL: database.url },
  });
  if (migrate.code !== 0) throw new Error(`stages/${STAGE}/src/migrate.ts failed:\n${migrate.output}`);

  const port = await freePort();
  const most = Math.max(...s.replicaCounts);
  const ips = Array.from({ length: most }, (_, i) => `127.0.0.${i + 2}`);
  log(`${most} replicas of stages/${STAGE}/src/server.ts on ${ips[0]}…${ips.at(-1)}, port ${port}`);
  const env = { REDIS_URL: `${redisUrl}/1`, DATABASE_URL: database.url, PORT: String(port) };
  const replicas: StageProcess[] = [];
  ctx.onCleanup(() => Promise.all(replicas.map((r) => r.stop())));
  for (const [i, ip] of ips.entries()) {
    replicas.push(
      await runStage(STAGE, { env: { ...env, LISTEN_HOST: ip, REPLICA_NAME: `replica-${i + 1}` } }).catch(
        (err: Error) => {
          throw /EADDRNOTAVAIL/.test(err.message)
            ? new Error(
                `cannot listen on ${ip}: only 127.0.0.1 is loopback here (macOS: ` +
                  'for i in $(seq 2 5); do sudo ifconfig lo0 alias 127.0.0.$i up; done)',
              )
            : err;
        },
      ),
    );
  }
  const dns = await startDnsServer();
  ctx.onCleanup(() => dns.close());
  for (const n of s.replicaCounts) dns.set(`web-${n}`, ips.slice(0, n));

  const nginx = await findNginx(options.install, log);
  if (!nginx.binary) notes.push(`nginx was not measured: ${nginx.why}`);

  const runs: BalancerRun[] = [];
  const replicaPids = replicas.map((r) => r.child.pid as number);
  const measure = async (target: Target, n: number, url: string, proxyPids: number[]) => {
    for (const endpoint of ['GET /', 'POST /records'] as Endpoint[]) {
      const request =
        endpoint === 'GET /'
          ? { url: `${url}/` }
          : { url: `${url}/records`, method: 'POST' as const, json: RECORD };
      const what = `${target === 'direct' ? 'direct' : `${target} → ${replicasText(n)}`}, ${endpoint}`;
      // Warm-up: the JIT compiles the hot paths, the connection pools fill.
      await runLoad({ ...request, connections: s.connections, seconds: s.warmupS, maxRequests: 1_000_000 });
      const modes: LoadMode[] = n === 1 ? ['throughput', 'latency'] : ['throughput'];
      for (const mode of modes) {
        const load1 = round(loadavg()[0] ?? 0, 2);
        const cpuBefore = [cpuSeconds(proxyPids), cpuSeconds(replicaPids)];
        const result =
          mode === 'throughput'
            ? await runLoad({
                ...request,
                connections: s.connections,
                seconds: s.seconds,
                maxRequests: 1_000_000,
              })
            : await runLoad({
                ...request,
                connections: 2,
                rate: s.latencyRate,
                seconds: s.latencyS,
                maxRequests: s.latencyRate * s.latencyS,
              });
        const cpu = {
          proxyCpuUs:
            target === 'direct' ? undefined : perRequestUs(cpuBefore[0], cpuSeconds(proxyPids), result.ok),
          replicasCpuUs: perRequestUs(cpuBefore[1], cpuSeconds(replicaPids), result.ok),
        };
        check(what, result, notes);
        runs.push({ target, replicas: n, endpoint, mode, load1, ...result, ...cpu });
        log(
          `${what}, ${mode}: ${rate(result.rps)} req/s, p50 ${ms(result.p50Ms)}, p99 ${ms(result.p99Ms)}` +
            (cpu.proxyCpuUs !== undefined ? `, proxy CPU ${cpu.proxyCpuUs} µs/request` : '') +
            (result.non2xx + result.errors > 0 ? `, ${result.non2xx + result.errors} failed` : ''),
        );
      }
    }
  };

  await measure('direct', 1, `http://${ips[0]}:${port}`, []);
  for (const n of s.replicaCounts) {
    const proxy = await runStage(STAGE, {
      script: 'src/proxy.ts',
      env: {
        PORT: '0',
        LISTEN_HOST: '127.0.0.1',
        UPSTREAM_HOST: `web-${n}`,
        UPSTREAM_DNS: dns.address,
        UPSTREAM_PORT: String(port),
      },
    });
    try {
      await measure('proxy', n, proxy.url, [proxy.child.pid as number]);
      const view = (await (await fetch(`${proxy.url}/__lb`)).json()) as LbView;
      const spread = view.replicas.map((r) => r.requests);
      if (view.replicas.some((r) => r.state !== 'up' || r.failures > 0)) {
        notes.push(
          `proxy → ${replicasText(n)}: GET /__lb shows replicas down or failing: ${JSON.stringify(view.replicas)}`,
        );
      }
      log(`proxy → ${replicasText(n)}: requests per replica ${spread.join(', ')}`);
    } finally {
      await proxy.stop();
    }
    if (nginx.binary) {
      const server = await startNginx(nginx.binary, {
        host: '127.0.0.1',
        port: await freePort(),
        upstreams: ips.slice(0, n).map((ip) => `${ip}:${port}`),
        keepalive: 32,
        // The compose file's PROXY_TIMEOUT_MS and the proxy's defaults.
        readTimeoutS: 10,
        connectTimeoutS: 1,
        maxBodyBytes: 1_048_576,
      });
      try {
        await measure('nginx', n, server.url, [server.pid]);
      } finally {
        await server.stop();
      }
    }
  }
  return {
    section: {
      connections: s.connections,
      seconds: s.seconds,
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
