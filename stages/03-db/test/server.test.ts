import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createTestDatabase, type TestDatabase, testRedisUrl } from '../../../testing/isolation.ts';
import { runStage, runStageToExit } from '../../../testing/stage-process.ts';

let testDatabase: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  env = { DATABASE_URL: testDatabase.url, REDIS_URL: await testRedisUrl() };
  const migrate = await runStageToExit('03-db', { script: 'src/migrate.ts', env });
  expect(migrate.code).toBe(0);
});
afterAll(async () => {
  await testDatabase.drop();
});

async function query(sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: testDatabase.url });
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

describe('stage 03: the server process', () => {
  test('counts and keeps records on the port it prints; the records outlive a restart', async () => {
    const first = await runStage('03-db', { env });
    let location: string | null;
    try {
      expect(await (await fetch(first.url)).text()).toBe('I have been seen 1 times.\n');
      const created = await post(first.url, { title: 'Test' });
      expect(created.status).toBe(201);
      location = created.headers.get('location');
    } finally {
      expect(await first.stop()).toBe(0);
    }

    // A new process has nothing in memory: what it shows comes from Postgres.
    const second = await runStage('03-db', { env });
    try {
      const res = await fetch(`${second.url}${location}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ id: 1, data: { title: 'Test' } });
      expect(await (await fetch(second.url)).text()).toBe('I have been seen 2 times.\n');
    } finally {
      await second.stop();
    }
  });

  test.each([
    ['PORT', 'eighty', 'PORT must be a whole number from 0 to 65535, got "eighty"'],
    [
      'REDIS_URL',
      'localhost:6379',
      'REDIS_URL must be a URL that starts with redis:// or rediss://, got "localhost:6379"',
    ],
    [
      'DATABASE_URL',
      'postgres//db/workshop',
      'DATABASE_URL must be a URL that starts with postgres:// or postgresql://, got "postgres//db/workshop"',
    ],
    ['BODY_LIMIT', 'lots', 'BODY_LIMIT must be a size like 100kb or 1mb, got "lots"'],
  ])('a bad %s stops the start with a message that names it', async (name, value, message) => {
    const { code, output } = await runStageToExit('03-db', { env: { ...env, [name]: value } });
    expect(code).toBe(1);
    expect(output).toContain(`Configuration error: ${message}`);
  });

  test('BODY_LIMIT sets the largest body', async () => {
    const server = await runStage('03-db', { env: { ...env, BODY_LIMIT: '1kb' } });
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

  test.each(['SIGTERM', 'SIGINT'] as const)(
    '%s lets a POST in flight finish (and store its record), then closes the database connections and exits 0',
    async (signal) => {
      const server = await runStage('03-db', { env });
      const port = new URL(server.url).port;
      const body = JSON.stringify({ title: `sent around ${signal}` });
      // Headers and half of the body are on the wire: the request is in flight.
      const socket = connect(Number(port), '127.0.0.1');
      let response = '';
      socket.on('data', (chunk) => (response += chunk));
      const closed = new Promise((resolve) => socket.on('close', resolve));
      socket.write(
        `POST /records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
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
      expect(await query(`SELECT data FROM records WHERE id = ${id}`)).toEqual([{ data: JSON.parse(body) }]);
      expect(await exit).toBe(0);
      expect(server.output()).toContain(`${signal} received`);

      // The app said goodbye to Postgres: a session that just vanished (the
      // process exited without closing it) counts as abandoned.
      const [stats] = (await query(
        `SELECT sessions, sessions_abandoned FROM pg_stat_database WHERE datname = current_database()`,
      )) as { sessions: string; sessions_abandoned: string }[];
      expect(Number(stats.sessions)).toBeGreaterThan(0);
      expect(Number(stats.sessions_abandoned)).toBe(0);
    },
  );
});
