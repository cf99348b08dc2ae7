// Live updates for the page: Server-Sent Events. Every change is sent as the
// whole board, at most a few times a second however many reports arrive.
import type { Response } from 'express';

const MAX_VIEWERS = 100;
const COALESCE_MS = 250;
const HEARTBEAT_MS = 20_000;

export interface Events {
  /** Adds a viewer; false when there are too many already. */
  add(res: Response): boolean;
  /** Something changed: the viewers get the board soon. */
  changed(): void;
  close(): void;
}

export function createEvents(render: () => unknown): Events {
  const viewers = new Set<Response>();
  let pending: NodeJS.Timeout | undefined;
  const send = (res: Response, data: string) => {
    // A viewer that does not read its stream is dropped instead of filling memory.
    if (res.writableLength > 1_000_000) res.end();
    else res.write(data);
  };
  const heartbeat = setInterval(() => {
    for (const res of viewers) send(res, ': still here\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const flush = () => {
    pending = undefined;
    const data = `event: board\ndata: ${JSON.stringify(render())}\n\n`;
    for (const res of viewers) send(res, data);
  };
  return {
    add(res) {
      if (viewers.size >= MAX_VIEWERS) return false;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
      });
      viewers.add(res);
      res.on('close', () => viewers.delete(res));
      send(res, `retry: 2000\nevent: board\ndata: ${JSON.stringify(render())}\n\n`);
      return true;
    },
    changed() {
      pending ??= setTimeout(flush, COALESCE_MS);
    },
    close() {
      clearInterval(heartbeat);
      clearTimeout(pending);
      for (const res of viewers) res.end();
    },
  };
}
