// A flood from one client must not slow the board for the others: each client
// address has a bucket of requests that refills at a steady rate; an empty
// bucket answers 429 before anything else is read or done.
export interface RateLimit {
  /** Seconds to wait, or 0 when the request may go ahead (and is counted). */
  take(client: string, now?: number): number;
}

/** `burst` requests at once, then `perSecond` on average. */
export function createRateLimit(burst: number, perSecond: number): RateLimit {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(client, now = Date.now()) {
      const bucket = buckets.get(client) ?? { tokens: burst, at: now };
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
      bucket.at = now;
      // A full bucket says nothing: forget it, so that the map holds only the busy clients.
      if (bucket.tokens >= burst && buckets.size > 1000) buckets.delete(client);
      else buckets.set(client, bucket);
      if (bucket.tokens < 1) return Math.ceil((1 - bucket.tokens) / perSecond);
      bucket.tokens -= 1;
      return 0;
    },
  };
}
