// A fixed, bounded load: `total` requests, `concurrency` at a time, and what
// each one got. For the checks that break something on purpose in the middle
// (a replica killed under load) and count what the clients saw.
import { performance } from 'node:perf_hooks';
import { type Http, NoAnswer } from './http.ts';

export interface Answer {
  /** When the request was sent (performance.now()). */
  readonly sentAt: number;
  readonly ms: number;
  /** The HTTP status, or 0 when there was no answer at all. */
  readonly status: number;
  /** The replica that answered (X-Served-By), if one said so. */
  readonly servedBy: string | null;
  /** The body (cut short), or why there was no answer. */
  readonly detail: string;
}

export interface LoadOptions {
  path: string;
  total: number;
  concurrency: number;
  /**
   * Called before request number `index` (0, 1, ...) is sent, and awaited: it
   * may start something at request 100, and hold the later requests back until
   * that something is done.
   */
  before?: (index: number) => Promise<void> | void;
}

export async function load(http: Http, options: LoadOptions): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  const client = async () => {
    while (next < options.total) {
      const index = next++;
      await options.before?.(index);
      const sentAt = performance.now();
      try {
        const res = await http.get(options.path);
        answers.push({
          sentAt,
          ms: Math.round(performance.now() - sentAt),
          status: res.status,
          servedBy: res.headers.get('x-served-by'),
          detail: res.text.trim().slice(0, 160),
        });
      } catch (err) {
        if (!(err instanceof NoAnswer)) throw err;
        answers.push({
          sentAt,
          ms: Math.round(performance.now() - sentAt),
          status: 0,
          servedBy: null,
          detail: err.reason,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  return answers;
}

/** "3 × 200, 1 × no answer (ECONNRESET)": the failed answers, grouped. */
export function describeFailures(failed: readonly Answer[]): string {
  const groups = new Map<string, number>();
  for (const answer of failed) {
    const key = answer.status === 0 ? `no answer (${answer.detail})` : `${answer.status} ${answer.detail}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, n]) => `${n} × ${key}`).join('; ');
}

/** The distinct replicas among X-Served-By values, in the order they first came. */
export function replicasOf(servedBy: readonly (string | null)[]): string[] {
  return [...new Set(servedBy.filter((name): name is string => !!name))];
}
