import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { runStage, runStageToExit } from '../../../testing/stage-process.ts';

describe('stage 01: the server process', () => {
  test('serves on the port it prints', async () => {
    const server = await runStage('01-app');
    try {
      const res = await fetch(server.url);
      expect(await res.text()).toBe('Hello World!\n');
    } finally {
      await server.stop();
    }
  });

  test('a bad PORT stops the start with a message that names it', async () => {
    const { code, output } = await runStageToExit('01-app', { env: { PORT: 'eighty' } });
    expect(code).toBe(1);
    expect(output).toContain('PORT must be a whole number from 0 to 65535, got "eighty"');
  });

  test.each(['SIGTERM', 'SIGINT'] as const)(
    '%s finishes the request in flight, then exits 0',
    async (signal) => {
      const server = await runStage('01-app');
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
      // ...but the request in flight still gets its answer.
      socket.write('\r\n');
      await closed;
      expect(response).toMatch(/^HTTP\/1.1 200 OK/);
      expect(response).toContain('Hello World!');
      expect(await exit).toBe(0);
      expect(server.output()).toContain(`${signal} received`);
    },
  );
});
