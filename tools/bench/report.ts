// What one `npm run bench` measured, as docs/benchmarks.json keeps it. The
// Markdown page (render.ts) is made from this alone, so `npm run bench --
// --render` can rebuild the page without measuring again. Tests import this
// file: no import.meta, no side effects.

export const REPORT_VERSION = 1;

export const SECTIONS = ['balancer', 'jobs', 'images', 'startup'] as const;
export type SectionName = (typeof SECTIONS)[number];

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  docker?: string;
  compose?: string;
  nginx?: string;
  /** os.loadavg() when the run started and when it ended: others using the CPU show here. */
  loadBefore: number[];
  loadAfter?: number[];
}

/** One run of the load generator against one URL. */
export interface LoadResult {
  /** Answers with a 2xx status. */
  ok: number;
  /** Answers with another status. */
  non2xx: number;
  /** Requests that got no answer (refused, reset, timed out). */
  errors: number;
  seconds: number;
  /** ok / seconds */
  rps: number;
  /** Latency of the 2xx answers, from the load generator's own clock (sub-millisecond). */
  p50Ms: number;
  p99Ms: number;
}

/**
 * direct: to one replica itself; proxy: the workshop proxy; nginx; and, to
 * show where the proxy's cost comes from, tools/bench/bare-proxy.ts: Node's
 * http module alone, and http-proxy-3 alone.
 */
export type Target = 'direct' | 'proxy' | 'nginx' | 'bare-node' | 'bare-http-proxy-3';
export type Endpoint = 'GET /' | 'POST /records';
/**
 * throughput: as many requests as the connections can send; latency: a fixed,
 * modest rate; own-core: throughput, with the proxy on a CPU of its own and
 * everything else (replicas, Redis, PostgreSQL, load generator) on the other(s).
 */
export type LoadMode = 'throughput' | 'latency' | 'own-core';

/** One run of the load generator, with what the machine did meanwhile. */
export interface Round extends LoadResult {
  /** The 1-minute load average when the run started. */
  load1: number;
  /** CPU microseconds per answered request in the proxy's processes (nginx: master and workers); Linux only. */
  proxyCpuUs?: number;
  /** The same in the replicas, all together. */
  replicasCpuUs?: number;
}

/**
 * Several rounds of one measurement, taken in turns with the other
 * contenders: each number is the median of the rounds' (ok, non2xx, errors
 * and seconds are sums), and rpsMin/rpsMax show how much the rounds differed.
 */
export interface Combined extends Round {
  rounds: number;
  rpsMin: number;
  rpsMax: number;
}

export interface BalancerRun extends Combined {
  target: Target;
  replicas: number;
  endpoint: Endpoint;
  mode: LoadMode;
}

export interface BalancerSection {
  /** Connections of the throughput runs. */
  connections: number;
  /** Length of each measured throughput run (after a warm-up run). */
  seconds: number;
  /** Measured runs of each contender, taken in turns. */
  rounds: number;
  /** Requests per second of the latency runs. */
  latencyRate: number;
  /** Length of each latency run. */
  latencySeconds: number;
  runs: BalancerRun[];
  /** What the run found out on the way (settings seen, things skipped). */
  notes: string[];
}

export type JobKind = 'archive' | 'noop';

export interface JobRun {
  kind: JobKind;
  workers: number;
  /** WORKER_CONCURRENCY of each worker. */
  concurrency: number;
  jobs: number;
  /** From the queue's resume to the last job's completion (BullMQ's finishedOn). */
  seconds: number;
  jobsPerSecond: number;
  failed: number;
}

export interface JobLatency {
  workers: number;
  concurrency: number;
  records: number;
  /** POST /records per second, at a fixed rate. */
  rate: number;
  /** From sending POST /records to the record's archived_at. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface JobsSection {
  runs: JobRun[];
  latency?: JobLatency;
  notes: string[];
}

export interface ImageResult {
  stage: string;
  imageBytes: number;
  /** `docker build --no-cache` of a copy of the stage. */
  coldBuildMs: number;
  /** The same copy after a one-line change in a file of src/. */
  rebuildMs: number;
  editedFile: string;
}

export interface ImagesSection {
  base: string;
  baseBytes: number;
  images: ImageResult[];
}

export interface StartupResult {
  stage: string;
  project: string;
  /** Containers once up (replicas count one each). */
  containers: number;
  /** From `docker compose up -d` to every service healthy or done, as `npm run verify` waits. */
  healthyMs: number;
  /** From `up` to the first 200 from GET /healthz on the published port. */
  firstAnswerMs?: number;
}

export interface StartupSection {
  results: StartupResult[];
}

export interface Skipped {
  section: SectionName;
  reason: string;
}

export interface BenchReport {
  version: typeof REPORT_VERSION;
  quick: boolean;
  startedAt: string;
  durationMs: number;
  machine: Machine;
  balancer?: BalancerSection;
  jobs?: JobsSection;
  images?: ImagesSection;
  startup?: StartupSection;
  skipped: Skipped[];
}

export class ReportError extends Error {}

/** docs/benchmarks.json back into a report; a file that is not one says what is wrong. */
export function parseReport(text: string): BenchReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ReportError(`not JSON: ${(err as Error).message}`);
  }
  const report = data as Partial<BenchReport> | null;
  if (typeof report !== 'object' || report === null) throw new ReportError('not a JSON object');
  if (report.version !== REPORT_VERSION) {
    throw new ReportError(
      `version ${JSON.stringify(report.version)}, expected ${REPORT_VERSION}: run \`npm run bench\` again`,
    );
  }
  for (const key of ['startedAt', 'durationMs', 'machine', 'skipped'] as const) {
    if (report[key] === undefined) throw new ReportError(`"${key}" is missing`);
  }
  const numbers = (where: string, rows: object[] | undefined, keys: string[]) => {
    rows?.forEach((row, i) => {
      for (const key of keys) {
        const value = (row as Record<string, unknown>)[key];
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          throw new ReportError(`${where}[${i}].${key} is ${JSON.stringify(value)}, not a number`);
        }
      }
    });
  };
  numbers('balancer.runs', report.balancer?.runs, ['replicas', 'rps', 'p50Ms', 'p99Ms']);
  numbers('jobs.runs', report.jobs?.runs, ['workers', 'concurrency', 'jobsPerSecond']);
  numbers('images.images', report.images?.images, ['imageBytes', 'coldBuildMs', 'rebuildMs']);
  numbers('startup.results', report.startup?.results, ['healthyMs']);
  return report as BenchReport;
}

// ------------------------------------------------------------------ ratios

/** a / b, or undefined when there is nothing to divide by. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    return undefined;
  }
  return a / b;
}

export interface Goal {
  readonly text: string;
  readonly met: boolean;
}

export interface Ratio {
  /** What is compared with what, in words. */
  readonly what: string;
  readonly value: number;
  /** How to show the value: "x" a factor, "%" a share, "ms" a difference. */
  readonly unit: 'x' | '%' | 'ms';
  readonly goal?: Goal;
}

/** The throughput goal of the workshop proxy, as a share of nginx's. */
export const PROXY_SHARE_GOAL = 0.9;
/** At most this much added to the median latency of going to a replica directly. */
export const PROXY_P50_GOAL_MS = 1;

export function findRun(
  runs: readonly BalancerRun[],
  target: Target,
  replicas: number,
  endpoint: Endpoint,
  mode: LoadMode,
): BalancerRun | undefined {
  return runs.find(
    (r) => r.target === target && r.replicas === replicas && r.endpoint === endpoint && r.mode === mode,
  );
}

export function findJobRun(
  runs: readonly JobRun[],
  kind: JobKind,
  workers: number,
  concurrency: number,
): JobRun | undefined {
  return runs.find((r) => r.kind === kind && r.workers === workers && r.concurrency === concurrency);
}

/** The ratios the page leads with, from the numbers of one run. */
export function computeRatios(report: BenchReport): Ratio[] {
  const out: Ratio[] = [];
  const push = (what: string, value: number | undefined, unit: Ratio['unit'], goal?: (v: number) => Goal) => {
    if (value !== undefined)
      out.push(goal ? { what, value, unit, goal: goal(value) } : { what, value, unit });
  };

  const runs = report.balancer?.runs ?? [];
  const replicaCounts = [...new Set(runs.filter((r) => r.target !== 'direct').map((r) => r.replicas))].sort(
    (a, b) => a - b,
  );
  const shareGoal = (v: number) => ({
    text: `≥ ${Math.round(PROXY_SHARE_GOAL * 100)} %`,
    met: v >= PROXY_SHARE_GOAL,
  });
  for (const [mode, where] of [
    ['throughput', 'cores shared'],
    ['own-core', 'proxy on a core of its own'],
  ] as const) {
    for (const endpoint of ['GET /', 'POST /records'] as const) {
      for (const n of replicaCounts) {
        const proxy = findRun(runs, 'proxy', n, endpoint, mode);
        const nginx = findRun(runs, 'nginx', n, endpoint, mode);
        push(
          `workshop proxy / nginx, requests/s, ${endpoint}, ${replicas(n)}, ${where}`,
          ratio(proxy?.rps, nginx?.rps),
          '%',
          shareGoal,
        );
      }
    }
  }
  for (const endpoint of ['GET /', 'POST /records'] as const) {
    const at1 = (target: Target) => findRun(runs, target, 1, endpoint, 'throughput');
    const [proxy, nginx, bareProxy, bareNode] = [
      at1('proxy'),
      at1('nginx'),
      at1('bare-http-proxy-3'),
      at1('bare-node'),
    ];
    push(
      `workshop proxy / nginx, CPU time per request, ${endpoint}, 1 replica`,
      ratio(proxy?.proxyCpuUs, nginx?.proxyCpuUs),
      'x',
    );
    push(
      `bare http-proxy-3 / nginx, requests/s, ${endpoint}, 1 replica`,
      ratio(bareProxy?.rps, nginx?.rps),
      '%',
    );
    push(`bare Node http / nginx, requests/s, ${endpoint}, 1 replica`, ratio(bareNode?.rps, nginx?.rps), '%');
    push(
      `workshop proxy / bare http-proxy-3, CPU time per request, ${endpoint}`,
      ratio(proxy?.proxyCpuUs, bareProxy?.proxyCpuUs),
      'x',
    );
    push(
      `bare Node http / nginx, CPU time per request, ${endpoint}`,
      ratio(bareNode?.proxyCpuUs, nginx?.proxyCpuUs),
      'x',
    );
  }
  for (const endpoint of ['GET /', 'POST /records'] as const) {
    const direct = findRun(runs, 'direct', 1, endpoint, 'latency');
    for (const target of ['proxy', 'nginx'] as const) {
      const through = findRun(runs, target, 1, endpoint, 'latency');
      const added = direct && through ? through.p50Ms - direct.p50Ms : undefined;
      const name = target === 'proxy' ? 'workshop proxy' : 'nginx';
      push(
        `${name} − direct, p50 latency, ${endpoint}, 1 replica`,
        added,
        'ms',
        target === 'proxy'
          ? (v) => ({ text: `< ${PROXY_P50_GOAL_MS} ms`, met: v < PROXY_P50_GOAL_MS })
          : undefined,
      );
    }
  }
  for (const endpoint of ['GET /', 'POST /records'] as const) {
    const one = findRun(runs, 'proxy', 1, endpoint, 'throughput');
    const most = replicaCounts.at(-1);
    if (most !== undefined && most > 1) {
      const many = findRun(runs, 'proxy', most, endpoint, 'throughput');
      push(
        `workshop proxy, ${replicas(most)} / 1 replica, requests/s, ${endpoint}`,
        ratio(many?.rps, one?.rps),
        'x',
      );
    }
  }

  const jobs = report.jobs?.runs ?? [];
  const concurrencies = [...new Set(jobs.map((r) => r.concurrency))].sort((a, b) => a - b);
  for (const c of concurrencies) {
    const one = findJobRun(jobs, 'archive', 1, c);
    const two = findJobRun(jobs, 'archive', 2, c);
    push(
      `archive jobs/s, 2 workers / 1 worker, concurrency ${c}`,
      ratio(two?.jobsPerSecond, one?.jobsPerSecond),
      'x',
    );
  }
  for (const run of jobs.filter((r) => r.kind === 'archive')) {
    const noop = findJobRun(jobs, 'noop', run.workers, run.concurrency);
    push(
      `archive job / no-op job, jobs/s, ${run.workers} × concurrency ${run.concurrency}`,
      ratio(run.jobsPerSecond, noop?.jobsPerSecond),
      '%',
    );
  }

  const images = report.images;
  for (const image of images?.images ?? []) {
    const added = images ? image.imageBytes - images.baseBytes : undefined;
    push(`${image.stage}: what its layers add / ${images?.base}, size`, ratio(added, images?.baseBytes), '%');
  }
  for (const image of images?.images ?? []) {
    push(
      `${image.stage}: rebuild after a one-line change / cold build, time`,
      ratio(image.rebuildMs, image.coldBuildMs),
      '%',
    );
  }
  return out;
}

export function replicas(n: number): string {
  return n === 1 ? '1 replica' : `${n} replicas`;
}
