import { Redis, ReplyError } from 'ioredis';
import { DependencyDownError } from './errors.ts';

/**
 * The one connection to Redis that the whole app shares. The settings make an
 * outage cheap: a command fails at once instead of waiting, the client keeps
 * reconnecting in the background, and the routes answer 503 meanwhile.
 */
export function createRedis(url: string, connectionName = 'web'): Redis {
  const redis = new Redis(url, {
    // The name shows up in Redis's CLIENT LIST: handy when you look around.
    connectionName,
    // While there is no connection, fail a command right away instead of
    // queueing it until Redis is back (which could be never).
    enableOfflineQueue: false,
    // A command whose connection breaks fails at once, and is not sent
    // again after a reconnect, when its request has long had its 503.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The timeouts are only for a Redis that is there but does not answer:
    // a stopped one is noticed at once (refused, closed, unknown host). Redis
    // answers in well under a millisecond, but on a busy laptop the answer
    // waits for its turn on a core: 500 ms here gave 503s with every service
    // up. So 3 s for a command, and 5 s to connect.
    commandTimeout: 3000,
    connectTimeout: 5000,
    // Reconnect forever, 100 ms after the first failure, then 200 ms, ... at
    // most a second apart: the app recovers by itself once Redis is back.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  });
  logConnectionChanges(redis);
  return redis;
}

/**
 * The worker's side of Redis is the opposite of web's: nobody waits for an
 * answer, there is only work to finish. So a command waits for the connection
 * to come back instead of failing, and the client reconnects forever. BullMQ
 * opens the worker's connections itself, from these options.
 */
export function workerConnection(url: string) {
  return {
    url,
    connectionName: 'worker',
    // null: retry a command until Redis answers (BullMQ insists on it for a Worker).
    maxRetriesPerRequest: null,
    // Keep the commands issued during an outage, and send them once it is over.
    enableOfflineQueue: true,
    // Try again 200 ms after a failure, then 400 ms, ... at most 2 s apart, forever.
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  };
}

/** Turns a failed command into a 503 that names Redis. */
export function redisUnavailable(err: unknown): never {
  // A ReplyError is Redis answering "no" (a bug of ours): that stays a 500.
  if (err instanceof ReplyError) throw err;
  throw new DependencyDownError('redis', 'Redis is unavailable; try again in a moment', err);
}

/** Says goodbye politely (QUIT), or just hangs up if Redis does not answer. */
export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

// One line when the connection goes down and one when it is back, not one for
// every reconnect attempt. Listening to 'error' also matters for another
// reason: an EventEmitter 'error' that nobody listens to would crash the app.
function logConnectionChanges(redis: Redis): void {
  const where = `${redis.options.host}:${redis.options.port}`;
  let up: boolean | undefined;
  redis.on('ready', () => {
    if (up !== true) console.log(`redis: connected to ${where}`);
    up = true;
  });
  redis.on('reconnecting', () => {
    if (up === true) console.warn(`redis: lost the connection to ${where}; reconnecting`);
    up = false;
  });
  redis.on('error', (err: Error) => {
    if (up !== false) console.warn(`redis: ${where} is unavailable (${err.message}); reconnecting`);
    up = false;
  });
}
