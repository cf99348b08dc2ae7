import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { testRedisUrl } from '../../../testing/isolation.ts';
import { startRedis } from '../../../testing/services.ts';
import { runStage, runStageToExit } from '../../../testing/stage-process.ts';

describe('stage 04: the server process', () => {
  test('counts on the port it prints', async () => {
    const server = await runStage('04-scale', {
      env: { REDIS_URL: await testRedisUrl(), REPLICA_NAME: 'replica-a' },
    });
    try {
      expect(await (await fetch(server.url)).text()).toBe('I have been seen 1 times (replica replica-a).\n');
      expect(await (await fetch(server.url)).text()).toBe('I have been seen 2 times (replica replica-a).\n');
      expect(server.output()).toMatch(/redis: connected to 127\.0\.0\.1:\d+/);
    } finally {
      await server.stop();
    }
  });

  test('a bad PORT stops the start with a message that names it', async () => {
    const { code, output } = await runStageToExit('04-scale', { env: { PORT: 'eighty' } });
    expect(code).toBe(1);
    expect(output).toContain('PORT must be a whole number from 0 to 65535, got "eighty"');
  });

  test.each([
    ['http://redis:6379', 'http://redis:6379'],
    ['redis', 'redis'],
    ['redis://', 'redis://'],
    // The password does not end up in the logs.
    ['https://user:secret@redis:6379', 'https://user:***@redis:6379/'],
  ])('REDIS_URL=%s stops the start with a message that names REDIS_URL', async (value, shown) => {
    const { code, output } = await runStageToExit('04-scale', { env: { REDIS_URL: value } });
    expect(code).toBe(1);
    expect(output).toContain(
      `Configuration error: REDIS_URL must be a URL that starts with redis:// or rediss://, got "${shown}"`,
    );
    expect(output).not.toContain('secret');
  });

  test('starts while Redis is down, says so once, and counts as soon as Redis is up', async () => {
    const redisServer = await startRedis();
    await redisServer.stop();
    const server = await runStage('04-scale', {
      env: { REDIS_URL: redisServer.url, REPLICA_NAME: 'replica-a' },
    });
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
      expect(text).toBe('I have been seen 1 times (replica replica-a).\n');
      // ...but the log tells the story in two lines, not one line per attempt.
      expect(server.output().match(/redis: .* is unavailable/g)).toHaveLength(1);
      expect(server.output().match(/redis: connected to/g)).toHaveLength(1);
    } finally {
      await server.stop();
      await redisServer.destroy();
    }
  });

  test.each(['SIGTERM', 'SIGINT'] as const)(
    '%s finishes the request in flight, closes the Redis connection, then exits 0',
    async (signal) => {
      const redisServer = await startRedis();
      const probe = new Redis(redisServer.url, { lazyConnect: true });
      await probe.connect();
      const server = await runStage('04-scale', {
        env: { REDIS_URL: redisServer.url, REPLICA_NAME: 'replica-a' },
      });
      try {
        expect(await webConnections(probe)).toBe(1);
        const port = new URL(server.url).port;
        // A request whose last header line has not arrived yet is in flight.
        const socket = connect(Number(port), '127.0.0.1');
        let response = '';
        socket.on('data', (chunk) => (response += chunk));
        const closed = new Promise((resolve) => socket.on('close', resolve));
        socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
        await sleep(100);

        const exit = server.stop(signal);
        await sleep(200);
        // Meanwhile, the server takes no new connections...
        await expect(fetch(server.url)).rejects.toThrow();
        // ...but the request in flight still gets its count: Redis is still there for it.
        socket.write('\r\n');
        await closed;
        expect(response).toMatch(/^HTTP\/1.1 200 OK/);
        expect(response).toContain('I have been seen 1 times (replica replica-a).');
        expect(await exit).toBe(0);
        expect(server.output()).toContain(`${signal} received`);
        // The app said goodbye to Redis (QUIT) instead of just vanishing.
        expect(await webConnections(probe)).toBe(0);
        expect(await probe.info('commandstats')).toMatch(/cmdstat_quit:calls=1,/);
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
