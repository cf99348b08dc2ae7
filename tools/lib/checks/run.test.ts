// How a check's outcome becomes a result and a line: passed with a note,
// failed with its hint and chapter, skipped when it cannot look, and a
// deadline for the check that never ends. No stage needed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../../testing/services.ts';
import { parsePs } from '../compose.ts';
import type { Stage } from '../stages.ts';
import { fail, skip } from './assert.ts';
import { createHttp, loopbackUrl } from './http.ts';
import { describeFailures, load, replicasOf } from './load.ts';
import { formatResult } from './report.ts';
import { type CheckResult, runChecks } from './run.ts';
import type { Check, CheckContext } from './types.ts';

const from: Stage = {
  number: 4,
  name: '04-scale',
  dir: 'stages/04-scale',
  chapter: 'docs/04-scale.md#do-you-have-a-problem',
};
const ctx = { url: 'http://localhost:8080', env: {} } as unknown as CheckContext;
const check = (run: Check['run'], more: Partial<Check> = {}): Check => ({
  id: 'x',
  name: 'the thing works',
  hint: 'Look at `docker compose logs web`.',
  run,
  ...more,
});

describe('runChecks', () => {
  test('a note that a passed check returns is printed under its line', async () => {
    const [result] = await runChecks(
      [{ check: check(async () => '400 requests sent, 0 failed'), from }],
      ctx,
    );
    expect(result).toMatchObject({ status: 'passed', note: '400 requests sent, 0 failed' });
    expect(formatResult(result as CheckResult)).toMatch(
      /^✓ the thing works \(\d+ ms\)\n {4}400 requests sent, 0 failed$/,
    );
  });

  test('a failed check: what it saw, then its hint and the chapter', async () => {
    const [result] = await runChecks([{ check: check(async () => fail('GET / answered 502')), from }], ctx);
    expect(result).toMatchObject({ status: 'failed', message: 'GET / answered 502' });
    expect(
      formatResult(result as CheckResult)
        .split('\n')
        .slice(1),
    ).toEqual([
      '    GET / answered 502',
      '    → Look at `docker compose logs web`. See docs/04-scale.md#do-you-have-a-problem',
    ]);
  });

  test('skip(): skipped, with the reason', async () => {
    const [result] = await runChecks(
      [{ check: check(async () => skip('out of reach from here')), from }],
      ctx,
    );
    expect(result).toMatchObject({ status: 'skipped', message: 'out of reach from here' });
    expect(formatResult(result as CheckResult)).toBe('- the thing works (skipped: out of reach from here)');
  });

  test('a check that never ends fails at its own deadline', async () => {
    const never = check(() => new Promise<undefined>(() => {}), { timeoutMs: 200 });
    const [result] = await runChecks([{ check: never, from }], ctx);
    expect(result).toMatchObject({ status: 'failed', message: 'no result within 0.2 s' });
  });
});

describe('loopbackUrl', () => {
  test('the variable as compose got it, else the default, on 127.0.0.1', () => {
    expect(loopbackUrl({ url: 'http://localhost:8080', env: {} }, 'DASHBOARD_PORT', 3000)).toBe(
      'http://127.0.0.1:3000',
    );
    expect(
      loopbackUrl(
        { url: 'http://127.0.0.1:28100', env: { DASHBOARD_PORT: '28101' } },
        'DASHBOARD_PORT',
        3000,
      ),
    ).toBe('http://127.0.0.1:28101');
  });

  test('a stage on another machine: skipped; a port that is no port: failed', () => {
    const there = { url: 'http://host.docker.internal:8080', env: {} };
    expect(() => loopbackUrl(there, 'DASHBOARD_PORT', 3000)).toThrow(
      'published on 127.0.0.1 of the machine that runs the stage, not on host.docker.internal',
    );
    expect(() =>
      loopbackUrl({ url: 'http://localhost:8080', env: { DASHBOARD_PORT: 'x' } }, 'DASHBOARD_PORT', 3000),
    ).toThrow('DASHBOARD_PORT must be a port number');
  });
});

describe('parsePs', () => {
  test('the ports a container publishes, and where they are bound', () => {
    const line = (name: string, service: string, publishers: unknown[]) =>
      JSON.stringify({
        ID: `${service}0123456789abcdef`,
        Name: name,
        Service: service,
        State: 'running',
        Publishers: publishers,
      });
    const [dashboard, web] = parsePs(
      [
        line('p-web-1', 'web', [{ URL: '', TargetPort: 8080, PublishedPort: 0, Protocol: 'tcp' }]),
        line('p-dashboard-1', 'dashboard', [
          { URL: '127.0.0.1', TargetPort: 3000, PublishedPort: 3000, Protocol: 'tcp' },
        ]),
      ].join('\n'),
    );
    expect(web).toMatchObject({ id: 'web012345678', published: false, ports: [] });
    expect(dashboard).toMatchObject({
      published: true,
      ports: [{ address: '127.0.0.1', published: 3000, target: 3000 }],
    });
  });
});

describe('load', () => {
  let server: Server;
  let url: string;
  let served = 0;
  let inFlight = 0;
  let busiest = 0;
  beforeAll(async () => {
    // Two "replicas" in turn; every fifth request fails.
    server = createServer((_req, res) => {
      served++;
      const failing = served % 5 === 0;
      res.setHeader('X-Served-By', `replica-${served % 2}`);
      inFlight++;
      busiest = Math.max(busiest, inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(failing ? 502 : 200).end(failing ? '{"error":"gone"}' : 'ok');
      }, 5);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test('sends exactly `total` requests, at most `concurrency` at once, and says what each got', async () => {
    const calls: number[] = [];
    const answers = await load(createHttp(url), {
      path: '/',
      total: 40,
      concurrency: 4,
      before: (index) => {
        calls.push(index);
      },
    });
    expect(answers).toHaveLength(40);
    expect(busiest).toBe(4);
    expect(calls.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const failed = answers.filter((a) => a.status !== 200);
    expect(failed).toHaveLength(8);
    expect(describeFailures(failed)).toBe('8 × 502 {"error":"gone"}');
    expect(replicasOf(answers.map((a) => a.servedBy)).sort()).toEqual(['replica-0', 'replica-1']);
  });

  test('no answer at all is a failure too', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const answers = await load(createHttp(nobody), { path: '/', total: 2, concurrency: 2 });
    expect(describeFailures(answers)).toBe('2 × no answer (ECONNREFUSED)');
  });
});
