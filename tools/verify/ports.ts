// A host port for a stage to publish on. Docker binds 0.0.0.0, so that is
// where the port must be free.
import { createServer } from 'node:net';

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '0.0.0.0' }, () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

/** The first free port of the range, or any free port without a range. */
export async function freeHostPort(
  range?: { from: number; to: number },
  taken: number[] = [],
): Promise<number> {
  if (!range) {
    const port = await tryListen(0);
    if (port) return port;
    throw new Error('no free port');
  }
  for (let port = range.from; port <= range.to; port++) {
    if (!taken.includes(port) && (await tryListen(port))) return port;
  }
  throw new Error(`no free port from ${range.from} to ${range.to}`);
}
