// The pure parts of `npm run bench`: statistics, ratios, the report file, the
// page, the command line and nginx's configuration. Nothing here measures.
import { UsageError } from '../lib/cli.ts';
import { parseBenchArgs, writesDocs } from './args.ts';
import { nginxConfig } from './nginx.ts';
import {
  barChart,
  EXPLANATION_END,
  EXPLANATION_START,
  extractExplanation,
  formatRatio,
  niceCeiling,
  renderPage,
  table,
} from './render.ts';
import {
  type BalancerRun,
  type BenchReport,
  computeRatios,
  parseReport,
  REPORT_VERSION,
  ReportError,
  ratio,
} from './report.ts';
import { combineRounds, percentile, spread } from './stats.ts';

function run(overrides: Partial<BalancerRun>): BalancerRun {
  return {
    target: 'proxy',
    replicas: 1,
    endpoint: 'GET /',
    mode: 'throughput',
    ok: 1000,
    non2xx: 0,
    errors: 0,
    seconds: 1,
    rps: 1000,
    p50Ms: 1,
    p99Ms: 5,
    load1: 0.5,
    rounds: 1,
    rpsMin: overrides.rps ?? 1000,
    rpsMax: overrides.rps ?? 1000,
    ...overrides,
  };
}

function sampleReport(): BenchReport {
  return {
    version: REPORT_VERSION,
    quick: false,
    startedAt: '2026-01-02T03:04:05.000Z',
    durationMs: 600_000,
    machine: {
      cpus: 2,
      cpuModel: 'Test CPU',
      memoryGiB: 8,
      os: 'Linux 6.1',
      node: 'v24.0.0',
      docker: '27.0.0',
      compose: '2.26.1',
      nginx: '1.22.1',
      loadBefore: [0.1, 0.2, 0.3],
      loadAfter: [1, 1, 1],
    },
    balancer: {
      connections: 32,
      seconds: 8,
      rounds: 1,
      latencyRate: 200,
      latencySeconds: 5,
      notes: [],
      runs: [
        run({ target: 'direct', rps: 5000 }),
        run({ target: 'proxy', rps: 2000, proxyCpuUs: 300 }),
        run({ target: 'nginx', rps: 4000, proxyCpuUs: 50 }),
        run({ target: 'proxy', replicas: 2, rps: 3800 }),
        run({ target: 'nginx', replicas: 2, rps: 4000 }),
        run({ target: 'direct', mode: 'latency', p50Ms: 0.5 }),
        run({ target: 'proxy', mode: 'latency', p50Ms: 1.75 }),
        run({ target: 'nginx', mode: 'latency', p50Ms: 0.6 }),
        run({ target: 'proxy', mode: 'own-core', rps: 3900 }),
        run({ target: 'nginx', mode: 'own-core', rps: 4000 }),
      ],
    },
    jobs: {
      notes: [],
      runs: [
        { kind: 'archive', workers: 1, concurrency: 1, jobs: 100, seconds: 1, jobsPerSecond: 100, failed: 0 },
        {
          kind: 'archive',
          workers: 2,
          concurrency: 1,
          jobs: 100,
          seconds: 0.5,
          jobsPerSecond: 180,
          failed: 0,
        },
        { kind: 'noop', workers: 1, concurrency: 1, jobs: 100, seconds: 0.1, jobsPerSecond: 1000, failed: 0 },
      ],
      latency: { workers: 2, concurrency: 2, records: 50, rate: 10, p50Ms: 12, p99Ms: 40, maxMs: 41 },
    },
    images: {
      base: 'node:24-bookworm-slim',
      baseBytes: 200e6,
      images: [
        {
          stage: '01-app',
          imageBytes: 210e6,
          coldBuildMs: 10_000,
          rebuildMs: 1_000,
          editedFile: 'src/app.ts',
        },
      ],
    },
    startup: { results: [{ stage: '01-app', project: 'bench-01', containers: 1, healthyMs: 6_000 }] },
    skipped: [{ section: 'startup', reason: 'no Docker' }],
  };
}

describe('statistics', () => {
  test('percentiles by nearest rank, whatever the order of the values', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
  });

  test('spread takes the maximum of a long list', () => {
    const many = Array.from({ length: 300_000 }, (_, i) => i % 1000);
    expect(spread(many)).toEqual({ p50: 499, p99: 989, max: 999 });
  });

  test('rounds combine into medians, counts into sums, and keep their range', () => {
    const round = (rps: number, p50Ms: number, proxyCpuUs?: number) => ({
      ok: rps,
      non2xx: 1,
      errors: 0,
      seconds: 1,
      rps,
      p50Ms,
      p99Ms: p50Ms * 4,
      load1: 1,
      ...(proxyCpuUs === undefined ? {} : { proxyCpuUs }),
    });
    const combined = combineRounds([round(900, 2, 300), round(1200, 1, 280), round(1000, 3, 310)]);
    expect(combined).toMatchObject({ rps: 1000, p50Ms: 2, p99Ms: 8, proxyCpuUs: 300, rounds: 3 });
    expect(combined).toMatchObject({ ok: 3100, non2xx: 3, seconds: 3, rpsMin: 900, rpsMax: 1200 });
    // A round without a CPU reading: no median of the others pretending to be one.
    expect(combineRounds([round(900, 2, 300), round(1000, 2)]).proxyCpuUs).toBeUndefined();
    expect(() => combineRounds([])).toThrow(RangeError);
  });

  test('a ratio needs something to divide by', () => {
    expect(ratio(3, 4)).toBe(0.75);
    expect(ratio(3, 0)).toBeUndefined();
    expect(ratio(undefined, 4)).toBeUndefined();
    expect(ratio(3, Number.NaN)).toBeUndefined();
  });
});

describe('ratios of one run', () => {
  const ratios = computeRatios(sampleReport());
  const find = (start: string) => {
    const found = ratios.find((r) => r.what.startsWith(start));
    if (!found) throw new Error(`no ratio "${start}…" in ${ratios.map((r) => r.what).join('; ')}`);
    return found;
  };

  test('the proxy against nginx, with the 90 % goal', () => {
    expect(find('workshop proxy / nginx, requests/s, GET /, 1 replica')).toMatchObject({
      value: 0.5,
      unit: '%',
      goal: { met: false },
    });
    expect(find('workshop proxy / nginx, requests/s, GET /, 2 replicas')).toMatchObject({
      value: 0.95,
      goal: { met: true },
    });
    expect(find('workshop proxy / nginx, CPU time per request, GET /').value).toBe(6);
  });

  test('the same with the proxy on a core of its own, apart from the replicas', () => {
    expect(find('workshop proxy / nginx, requests/s, GET /, 1 replica, cores shared').value).toBe(0.5);
    expect(
      find('workshop proxy / nginx, requests/s, GET /, 1 replica, proxy on a core of its own'),
    ).toMatchObject({ value: 0.975, goal: { met: true } });
    // Only 1 replica was measured that way: no ratio for 2.
    expect(ratios.some((r) => r.what.endsWith('2 replicas, proxy on a core of its own'))).toBe(false);
  });

  test('the p50 latency the proxy adds over going direct, with the 1 ms goal', () => {
    const added = find('workshop proxy − direct, p50 latency, GET /');
    expect(added.value).toBeCloseTo(1.25);
    expect(added.goal?.met).toBe(false);
    expect(find('nginx − direct, p50 latency, GET /').value).toBeCloseTo(0.1);
  });

  test('workers, the no-op job, images and rebuilds', () => {
    expect(find('archive jobs/s, 2 workers / 1 worker, concurrency 1').value).toBe(1.8);
    expect(find('archive job / no-op job, jobs/s, 1 × concurrency 1').value).toBe(0.1);
    // No no-op run with 2 workers: no ratio rather than a wrong one.
    expect(ratios.some((r) => r.what.startsWith('archive job / no-op job, jobs/s, 2 ×'))).toBe(false);
    expect(find('01-app: what its layers add / node:24-bookworm-slim').value).toBeCloseTo(0.05);
    expect(find('01-app: rebuild after a one-line change / cold build').value).toBe(0.1);
  });

  test('are shown with their unit', () => {
    expect(formatRatio({ value: 0.934, unit: '%' })).toBe('93 %');
    expect(formatRatio({ value: 0.0134, unit: '%' })).toBe('1.3 %');
    // Next to its goal, a share never rounds up to the goal it missed.
    expect(formatRatio({ value: 0.897, unit: '%', goal: { text: '≥ 90 %', met: false } })).toBe('89.7 %');
    expect(formatRatio({ value: 0.904, unit: '%', goal: { text: '≥ 90 %', met: true } })).toBe('90 %');
    expect(formatRatio({ value: 1.8, unit: 'x' })).toBe('1.80×');
    expect(formatRatio({ value: 0.4212, unit: 'ms' })).toBe('+0.42 ms');
    expect(formatRatio({ value: -0.1, unit: 'ms' })).toBe('−0.10 ms');
  });
});

describe('the report file', () => {
  test('reads back what was written', () => {
    const report = sampleReport();
    expect(parseReport(JSON.stringify(report))).toEqual(report);
  });

  test.each([
    ['text that is not JSON', 'not json', /not JSON/],
    ['JSON that is not a report', '[1]', /version undefined, expected 1/],
    [
      'a report of another version',
      JSON.stringify({ ...sampleReport(), version: 0 }),
      /version 0, expected 1/,
    ],
    [
      'a report without its machine',
      JSON.stringify({ ...sampleReport(), machine: undefined }),
      /"machine" is missing/,
    ],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parseReport(text)).toThrow(ReportError);
    expect(() => parseReport(text)).toThrow(message);
  });

  test('refuses a run whose numbers are missing', () => {
    const report = sampleReport();
    (report.balancer?.runs[1] as unknown as Record<string, unknown>).rps = null;
    expect(() => parseReport(JSON.stringify(report))).toThrow('balancer.runs[1].rps is null, not a number');
  });
});

describe('the page', () => {
  test('a table right-aligns the number columns and escapes pipes', () => {
    expect(table(['a', 'n'], [['x|y', '1']], [false, true])).toBe('| a | n |\n|---|---:|\n| x\\|y | 1 |');
  });

  test('a chart starts at 0, so that bars compare honestly', () => {
    const chart = barChart('GET /', 'requests/s', [
      { label: 'direct', value: 4321.4 },
      { label: 'proxy 1', value: 4000 },
    ]);
    expect(chart).toContain('xychart-beta');
    expect(chart).toContain('x-axis ["direct", "proxy 1"]');
    expect(chart).toContain('y-axis "requests/s" 0 --> 5000');
    expect(chart).toContain('bar [4321, 4000]');
    expect(niceCeiling(4753)).toBe(5000);
    expect(niceCeiling(10_157)).toBe(12_000);
    expect(niceCeiling(101)).toBe(120);
    expect(niceCeiling(0.3)).toBe(0.3);
    expect(niceCeiling(800)).toBe(800);
  });

  test('has the tables, the machine, and keeps the hand-written part', () => {
    const explanation = '## What the numbers mean\n\nTwo cores, shared by everything.';
    const page = renderPage(sampleReport(), explanation);
    expect(page).toContain('| CPU | 2 cores (Test CPU) |');
    expect(page).toContain('Measured on 2026-01-02 by `npm run bench` in 10 min 0 s,');
    expect(page).toContain(
      '| workshop proxy / nginx, requests/s, GET /, 1 replica, cores shared | 50 % | ≥ 90 % ✗ missed |',
    );
    expect(page).toContain(
      '| workshop proxy / nginx, requests/s, GET /, 1 replica, proxy on a core of its own | 98 % | ≥ 90 % ✓ met |',
    );
    expect(page).toContain('**The proxy on a core of its own.**');
    expect(page).toContain('title "GET /: requests per second, proxy on a core of its own"');
    expect(page).toMatch(/\| direct to 1 replica \| 5,000 \| 1\.00 ms \| 5\.00 ms \|/);
    expect(page).toContain('| 01-app | 210.0 MB | +10.0 MB | 10.0 s | 1.0 s | 10 % |');
    expect(page).toContain('- startup: no Docker');
    expect(extractExplanation(page)).toBe(explanation);
    // A second run keeps what the first page had, word for word.
    expect(renderPage(sampleReport(), extractExplanation(page))).toBe(page);
  });

  test('a page without the markers gets a placeholder to write', () => {
    expect(extractExplanation(undefined)).toMatch(/Not written yet/);
    expect(extractExplanation(`${EXPLANATION_END} x ${EXPLANATION_START}`)).toMatch(/Not written yet/);
  });
});

describe('npm run bench: the command line', () => {
  test('every section by default; --only picks some, in their order', () => {
    const all = parseBenchArgs([]);
    if (all.help) throw new Error('unexpected --help');
    expect(all).toMatchObject({ quick: false, sections: ['balancer', 'jobs', 'images', 'startup'] });
    expect(writesDocs(all)).toBe(true);
    const some = parseBenchArgs(['--quick', '--only', 'startup,jobs']);
    if (some.help) throw new Error('unexpected --help');
    expect(some.sections).toEqual(['jobs', 'startup']);
    expect(writesDocs(some)).toBe(false);
    expect(parseBenchArgs(['--out=/tmp/bench', '--only=jobs', '--only', 'images'])).toMatchObject({
      out: '/tmp/bench',
      sections: ['jobs', 'images'],
    });
  });

  test.each([
    [['--only', 'disk'], /no section "disk"/],
    [['--out'], /--out needs a value/],
    [['--fast'], /Unknown option --fast/],
    [['--out', '--quick'], /--out needs a value/],
    [['report.md'], /Unexpected argument report\.md/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(UsageError);
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });
});

test("nginx's configuration: round robin over the replicas, with keep-alive connections to them", () => {
  const conf = nginxConfig({
    dir: '/tmp/x',
    host: '127.0.0.1',
    port: 8088,
    upstreams: ['127.0.0.2:9000', '127.0.0.3:9000'],
    keepalive: 32,
    readTimeoutS: 10,
    connectTimeoutS: 1,
    maxBodyBytes: 1024,
  });
  expect(conf).toMatch(
    /upstream web \{\n {4}server 127\.0\.0\.2:9000;\n {4}server 127\.0\.0\.3:9000;\n {4}keepalive 32;/,
  );
  expect(conf).toContain('listen 127.0.0.1:8088;');
  expect(conf).toContain('proxy_http_version 1.1;');
  expect(conf).toContain('proxy_set_header Connection "";');
  expect(conf).toContain('client_max_body_size 1024;');
  expect(conf).toContain('pid /tmp/x/nginx.pid;');
});
