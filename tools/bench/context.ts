// What every section of a run shares: the progress lines, the throwaway Redis
// and PostgreSQL servers of the tests (testing/services.ts), and the clean-up.
import { performance } from 'node:perf_hooks';
import { startPostgres, startRedis, type TestServer } from '../../testing/services.ts';
import type { SectionName } from './report.ts';

export interface Servers {
  /** redis://127.0.0.1:PORT, database 0; a section appends its own database number. */
  readonly redisUrl: string;
  /** The server's admin URL; sections make databases of their own (testing/isolation.ts). */
  readonly postgresUrl: string;
}

export class BenchContext {
  readonly quick: boolean;
  readonly root: string;
  readonly #started = performance.now();
  #servers: Promise<Servers> | undefined;
  readonly #owned: TestServer[] = [];
  readonly #cleanups: (() => Promise<unknown> | unknown)[] = [];

  constructor(root: string, quick: boolean) {
    this.root = root;
    this.quick = quick;
  }

  elapsedMs(): number {
    return Math.round(performance.now() - this.#started);
  }

  progress(section: SectionName | 'bench', text: string): void {
    const elapsed = (this.elapsedMs() / 1000).toFixed(1).padStart(6);
    console.log(`[${elapsed} s] ${section.padEnd(8)} ${text}`);
  }

  /**
   * Redis and PostgreSQL of our own, started on first use. Always new ones,
   * never the servers that REDIS_URL or DATABASE_URL may name: the run
   * empties queues and makes databases.
   */
  servers(): Promise<Servers> {
    this.#servers ??= (async () => {
      const redis = await startRedis();
      this.#owned.push(redis);
      const postgres = await startPostgres();
      this.#owned.push(postgres);
      // testing/isolation.ts makes the sections' databases on the server DATABASE_URL names.
      process.env.DATABASE_URL = postgres.url;
      return { redisUrl: redis.url, postgresUrl: postgres.url };
    })();
    return this.#servers;
  }

  /** Runs at the end of the run (or of a Ctrl-C), last registered first. */
  onCleanup(fn: () => Promise<unknown> | unknown): void {
    this.#cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    for (const fn of this.#cleanups.splice(0).reverse()) {
      await Promise.resolve()
        .then(fn)
        .catch((err) => console.error(`clean-up: ${(err as Error).message}`));
    }
    await Promise.all(this.#owned.splice(0).map((server) => server.destroy()));
  }
}
