import { connect } from 'node:net';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createTestDatabase, type TestDatabase, testRedisUrl } from '../../../testing/isolation.ts';
import { startRedis } from '../../../testing/services.ts';
import { runStage, runStageToExit } from '../../../testing/stage-process.ts';
import { eventually } from './cluster.ts';

// Every process of this file uses one database, with the tables made by the
// migrate script, as compose's `migrate` service would.
let testDatabase: TestDatabase;
let DATABASE_URL: string;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  DATABASE_URL = testDatabase.url;
  const migrate = await runStageToExit('05-worker', { script: 'src/migrate.ts', env: { DATABASE_URL } });
  expect(migrate.code).toBe(0);
});
afterAll(async () => {
  await testDatabase.drop();
});

async function query(sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

function post(url: string, data: unknown): Promise<Response> {
  return fetch(`${url}/records`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(data),
  });
}

describe('stage 05: the server process', () => {
  test('counts on the port it prints', async () => {
    const server = await runStage('05-worker', { env: { REDIS_URL: await testRedisUrl(), DATABASE_URL } });
    try {
      expect(await (await fetch(server.url)).text()).toBe(
        `I have been seen 1 times (replica ${hostname()}).\n`,
      );
      expect(await (await fetch(server.url)).text()).toBe(
        `I have been seen 2 times (replica ${hostname()}).\n`,
      );
      expect(server.output()).toMatch(/redis: connected to 127\.0\.0\.1:\d+/);
    } finally {
      await server.stop();
    }
  });

  test('the records outlive the process: a new one finds them in Postgres', async () => {
    const env = { REDIS_URL: await testRedisUrl(), DATABASE_URL };
    const first = await runStage('05-worker', { env });
    let location: string | null;
    try {
      const created = await post(first.url, { title: 'Test' });
      expect(created.status).toBe(201);
      location = created.headers.get('location');
    } finally {
      expect(await first.stop()).toBe(0);
    }
    const second = await runStage('05-worker', { env });
    try {
      const res = await fetch(`${second.url}${location}`);
      expect(res.status).toBe(200);
      expect((await res.json()).data).toEqual({ title: 'Test' });
    } finally {
      await second.stop();
    }
  });

  test.each([
    ['PORT', 'eighty', 'PORT must be a whole number from 0 to 65535, got "eighty"'],
    [
      'DATABASE_URL',
      'postgres//db/workshop',
      'DATABASE_URL must be a URL that starts with postgres:// or postgresql://, got "postgres//db/workshop"',
    ],
    [
      'DATABASE_URL',
      'mysql://root:secret@db/workshop',
      'DATABASE_URL must be a URL that starts with postgres:// or postgresql://, got "mysql://root:***@db/workshop"',
    ],
    ['BODY_LIMIT', 'lots', 'BODY_LIMIT must be a size like 100kb or 1mb, got "lots"'],
  ])('a bad %s (%s) stops the start with a message that names it', async (name, value, message) => {
    const { code, output } = await runStageToExit('05-worker', { env: { [name]: value } });
    expect(code).toBe(1);
    expect(output).toContain(`Configuration error: ${message}`);
    expect(output).not.toContain('secret');
  });

  test.each([
    ['http://redis:6379', 'http://redis:6379'],
    ['redis', 'redis'],
    ['redis://', 'redis://'],
    // The password does not end up in the logs.
    ['https://user:secret@redis:6379', 'https://user:***@redis:6379/'],
  ])('REDIS_URL=%s stops the start with a message that names REDIS_URL', async (value, shown) => {
    const { code, output } = await runStageToExit('05-worker', { env: { REDIS_URL: value } });
    expect(code).toBe(1);
    expect(output).toContain(
      `Configuration error: REDIS_URL must be a URL that starts with redis:// or rediss://, got "${shown}"`,
    );
    expect(output).not.toContain('secret');
  });

  test('BODY_LIMIT sets the largest body', async () => {
    const server = await runStage('05-worker', {
      env: { REDIS_URL: await testRedisUrl(), DATABASE_URL, BODY_LIMIT: '1kb' },
    });
    try {
      const res = await post(server.url, { text: 'x'.repeat(2000) });
      expect(res.status).toBe(413);
      expect((await res.json()).error).toBe(
        'The body is larger than 1kb (BODY_LIMIT); send a smaller record',
      );
    } finally {
      await server.stop();
    }
  });

  test('starts while Redis is down, says so once, and counts as soon as Redis is up', async () => {
    const redisServer = await startRedis();
    await redisServer.stop();
    const server = await runStage('05-worker', { env: { REDIS_URL: redisServer.url, DATABASE_URL } });
    try {
      const res = await fetch(server.url, { signal: AbortSignal.timeout(3000) });
      expect(res.status).toBe(503);
      expect((await res.json()).dependency).toBe('redis');
      // Meanwhile the client tries to reconnect, several times...
      await sleep(1000);
      await redisServer.start();
      let text = '';
      for (let attempt = 0; attempt < 50 && !text; attempt++) {
        const again = await fetch(server.url, { signal: AbortSignal.timeout(3000) });
        if (again.status === 200) text = await again.text();
        else await sleep(100);
      }
      expect(text).toBe(`I have been seen 1 times (replica ${hostname()}).\n`);
      // ...but the log tells the story in two lines, not one line per attempt.
      expect(server.output().match(/redis: .* is unavailable/g)).toHaveLength(1);
      expect(server.output().match(/redis: connected to/g)).toHaveLength(1);
    } finally {
      await server.stop();
      await redisServer.destroy();
    }
  });

  test('SIGTERM drains first: /healthz says "draining", every answer closes its connection, then the port closes', async () => {
    const server = await runStage('05-worker', {
      env: { REDIS_URL: await testRedisUrl(), DATABASE_URL, DRAIN_MS: '3000' },
    });
    const exit = server.stop('SIGTERM');
    const health = await eventually('a draining /healthz', async () => {
      const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(3000) });
      return res.status === 503 ? res : undefined;
    });
    expect(await health.json()).toEqual({ status: 'draining', error: `Replica ${hostname()} is stopping` });
    // Still serving, but no connection is kept alive for a next request.
    const res = await fetch(server.url, { signal: AbortSignal.timeout(3000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    await res.text();
    expect(await exit).toBe(0);
    expect(server.output()).toMatch(
      /SIGTERM received, draining for 3000 ms.*\n(.*\n)*drained: no new connections, finishing in-flight requests\n(.*\n)*stopped/,
    );
  });

  test.each(['SIGTERM', 'SIGINT'] as const)(
    'after the drain, %s lets a POST in flight finish and store its record, closes Redis and Postgres, then exits 0',
    async (signal) => {
      const redisServer = await startRedis();
      const probe = new Redis(redisServer.url, { lazyConnect: true });
      await probe.connect();
      // No drain (DRAIN_MS=0): straight to what follows it.
      const server = await runStage('05-worker', {
        env: { REDIS_URL: redisServer.url, DATABASE_URL, DRAIN_MS: '0' },
      });
      try {
        expect(await webConnections(probe)).toBe(1);
        const port = new URL(server.url).port;
        const body = JSON.stringify({ title: `sent around ${signal}` });
        // Headers and half of the body are on the wire: the request is in flight.
        const socket = connect(Number(port), '127.0.0.1');
        let response = '';
        socket.on('data', (chunk) => (response += chunk));
        const closed = new Promise((resolve) => socket.on('close', resolve));
        socket.write(
          'POST /records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
            `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
        );
        await sleep(100);

        const exit = server.stop(signal);
        await sleep(200);
        // Meanwhile, the server takes no new connections...
        await expect(fetch(server.url)).rejects.toThrow();
        // ...but the rest of the body still arrives, and the record is stored.
        socket.write(body.slice(10));
        await closed;
        expect(response).toMatch(/^HTTP\/1.1 201 Created/);
        const id = Number(/Location: \/records\/(\d+)/i.exec(response)?.[1]);
        expect(await query(`SELECT data FROM records WHERE id = ${id}`)).toEqual([
          { data: JSON.parse(body) },
        ]);
        expect(await exit).toBe(0);
        expect(server.output()).toContain(`${signal} received`);

        // The app said goodbye to Redis (QUIT) instead of just vanishing...
        expect(await webConnections(probe)).toBe(0);
        expect(await probe.info('commandstats')).toMatch(/cmdstat_quit:calls=1,/);
        // ...and to Postgres, which counts a session that just vanished as abandoned.
        const [stats] = (await query(
          'SELECT sessions, sessions_abandoned FROM pg_stat_database WHERE datname = current_database()',
        )) as { sessions: string; sessions_abandoned: string }[];
        expect(Number(stats?.sessions)).toBeGreaterThan(0);
        expect(Number(stats?.sessions_abandoned)).toBe(0);
      } finally {
        await probe.quit();
        await redisServer.destroy();
      }
    },
  );
});

/** How many connections named `web` (the app's, see src/redis.ts) Redis has. */
async function webConnections(probe: Redis): Promise<number> {
  const list = await probe.client('LIST');
  return String(list)
    .split('\n')
    .filter((line) => / name=web /.test(line)).length;
}
