// The load generator: autocannon, through its programmatic API, in this
// process. Every run is bounded twice, in time and in requests.
import autocannon from 'autocannon';
import type { LoadResult } from './report.ts';
import { percentile, round } from './stats.ts';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  /** A JSON body (sent with Content-Type: application/json). */
  json?: object;
  connections: number;
  seconds: number;
  /** Stop after this many requests, even before `seconds`. */
  maxRequests: number;
  /** Requests per second for all connections together; none: as fast as the answers come. */
  rate?: number;
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  // autocannon's own latency histogram counts whole milliseconds; a proxy's
  // cost on loopback is a fraction of one. Its 'response' event has the
  // exact time of each answer (from process.hrtime), so keep those.
  const latencies = new Float64Array(options.maxRequests);
  let count = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        ...(options.json
          ? { body: JSON.stringify(options.json), headers: { 'content-type': 'application/json' } }
          : {}),
        connections: options.connections,
        duration: options.seconds,
        maxOverallRequests: options.maxRequests,
        ...(options.rate ? { overallRate: options.rate } : {}),
        // A request that takes 10 s has failed for our purposes.
        timeout: 10,
      },
      (err, result) => {
        if (err) {
          reject(err);
          return;
        }
        const times = Array.from(latencies.subarray(0, count));
        const ok = result['2xx'];
        resolve({
          ok,
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
          seconds: result.duration,
          rps: round(ok / result.duration, 1),
          p50Ms: round(percentile(times, 50), 3),
          p99Ms: round(percentile(times, 99), 3),
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300 && count < latencies.length)
        latencies[count++] = responseTime;
    });
  });
}
