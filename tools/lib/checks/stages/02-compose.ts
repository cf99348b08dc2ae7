// Stage 02: web counts visits in Redis. The greeting of 01 gives way to the
// counter; the counter checks hold for every later stage.
import { describe, expectJsonObject, expectStatus, fail } from '../assert.ts';
import type { Http } from '../http.ts';
import { exec, expectHealthy } from '../services.ts';
import type { StageChecks } from '../types.ts';

/** Requests sent at once by the concurrency check: enough to overlap, bounded. */
const CONCURRENT = 20;

const REDIS_HINT =
  'The count lives in Redis: a 503 means web cannot reach the redis service. `docker compose ps` ' +
  '(is redis healthy?), `docker compose logs redis web`, and REDIS_URL (redis://redis:6379) in compose.yaml.';

/** One GET /: the count it showed, and the replica that answered (X-Served-By, from stage 04 on). */
export interface Visit {
  count: number;
  servedBy: string | null;
}

/** GET / and the number in "I have been seen N times." */
export async function visitOnce(http: Http): Promise<Visit> {
  const res = await http.get('/');
  if (res.text === 'Hello World!\n') {
    fail('GET / answered "Hello World!", the greeting of stage 01: is it stage 01 that runs on this port?');
  }
  expectStatus(res, 200);
  const match = /I have been seen (\d+) times?\b/.exec(res.text);
  if (!match) fail(`GET / answered ${describe(res)}, expected "I have been seen N times."`);
  return { count: Number(match[1]), servedBy: res.headers.get('x-served-by') };
}

export async function visit(http: Http): Promise<number> {
  return (await visitOnce(http)).count;
}

/**
 * `n` visits at the same time, between one visit before and one after: each
 * must get a count of its own, and none may be lost. Returns the `n` visits.
 */
export async function concurrentVisits(http: Http, n: number): Promise<Visit[]> {
  const before = await visit(http);
  const visits = await Promise.all(Array.from({ length: n }, () => visitOnce(http)));
  const after = await visit(http);
  const counts = visits.map((v) => v.count);
  const distinct = new Set(counts).size;
  if (distinct !== n) {
    fail(`${n} visits at once got only ${distinct} different counts: ${counts.join(', ')}`);
  }
  if (after !== before + n + 1) {
    fail(`the count went from ${before} to ${after} over ${n + 1} visits`);
  }
  return visits;
}

export default {
  retires: ['hello-world'],
  checks: [
    {
      id: 'counter',
      logs: ['web', 'redis'],
      name: 'GET / counts visits, one more each time',
      hint: REDIS_HINT,
      async run({ http }) {
        const first = await visit(http);
        const second = await visit(http);
        if (second !== first + 1) fail(`two visits in a row counted ${first} then ${second}`);
      },
    },
    {
      id: 'counter-concurrent',
      logs: ['web'],
      name: `${CONCURRENT} visits at the same time are each counted once`,
      hint:
        'Each visit must be one INCR in Redis, which is atomic: reading the count and writing it back ' +
        'loses visits when requests overlap. (Someone else visiting at the same time? Run it again.)',
      async run({ http }) {
        await concurrentVisits(http, CONCURRENT);
      },
    },
    {
      id: 'healthz-redis',
      logs: ['web', 'redis'],
      name: 'GET /healthz reports redis "up"',
      hint: REDIS_HINT,
      async run({ http }) {
        const res = await http.get('/healthz');
        const body = expectJsonObject(res);
        const redis = (body.dependencies as Record<string, unknown> | undefined)?.redis;
        if (redis !== 'up') fail(`GET /healthz answered ${describe(res)}, expected "redis": "up"`);
      },
    },
    {
      id: 'redis-healthy',
      logs: ['redis'],
      name: 'the redis service runs and is healthy',
      docker: true,
      hint:
        'compose.yaml gives redis a healthcheck (redis-cli ping) and web waits for it. ' +
        '`docker compose ps`, `docker compose logs redis`.',
      async run({ compose }) {
        await expectHealthy(compose, 'redis');
      },
    },
    {
      id: 'redis-holds-count',
      logs: ['web', 'redis'],
      name: 'the count is in Redis, under the key "hits"',
      docker: true,
      hint:
        'web must INCR the key "hits" in the redis service. Look yourself: ' +
        '`docker compose exec redis redis-cli GET hits`.',
      async run({ compose, http }) {
        const seen = await visit(http);
        const stored = await exec(compose, 'redis', ['redis-cli', 'GET', 'hits']);
        // Others may visit in between: the stored count is at least what we saw.
        if (!/^\d+$/.test(stored) || Number(stored) < seen) {
          fail(`GET / counted ${seen}, but redis-cli GET hits says ${JSON.stringify(stored)}`);
        }
      },
    },
  ],
} satisfies StageChecks;
