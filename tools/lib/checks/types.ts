// The shapes that a stage's checks file (tools/check/stages/NN-name.ts) fills in.
// One file per stage; the file name is the stage folder's name.
import type { ComposeProject } from '../compose.ts';
import type { Http } from './http.ts';

/** What a check gets to look at a running stage. */
export interface CheckContext {
  /** The stage that is being checked, e.g. "03-db". */
  readonly stage: string;
  /** Where the stage answers, e.g. http://localhost:8080 (no trailing slash). */
  readonly url: string;
  readonly http: Http;
  /** The stage's compose project; only a check with `docker: true` may use it. */
  readonly compose: ComposeProject;
  /**
   * The variables compose reads the published ports from (WEB_PORT,
   * DASHBOARD_PORT...): where the stage's other ports are. See publishedUrl().
   */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface Check {
  /** Stable and unique across stages: a later stage retires an earlier check by its id. */
  readonly id: string;
  /** What the check shows when it passes, e.g. "GET /healthz answers 200 with JSON". */
  readonly name: string;
  /** Needs `docker compose` access to the stage's project (skipped without it). */
  readonly docker?: boolean;
  /** The services whose logs explain a failure (verify prints their last lines). */
  readonly logs?: readonly string[];
  /**
   * Where an attendee looks when it fails: the service, the command, the chapter.
   * The chapter of the check's own stage is added to it.
   */
  readonly hint: string;
  /** More time than the usual 30 s (CHECK_TIMEOUT_MS), for a check that waits on purpose. */
  readonly timeoutMs?: number;
  /**
   * Throws CheckFailed (see assert.ts) with what it saw; anything else it throws
   * fails too. skip() (CheckSkipped) when it cannot look from where it runs.
   * It may resolve with a note of what it measured ("400 requests, 0 failed"),
   * printed under its ✓ line.
   */
  run(ctx: CheckContext): Promise<string | undefined>;
}

/** What an end-to-end step of `npm run verify` may do to the stack on top of a check. */
export interface VerifyContext extends CheckContext {
  /**
   * `docker compose up -d` with the stage's scaling, then waits until every
   * service is healthy. `env`: compose variables for this once (a slower
   * worker: WORKER_STEP_DELAY_MS); the next up() without them undoes them.
   */
  up(env?: Readonly<Record<string, string>>): Promise<void>;
  /** `docker compose down` WITHOUT -v: containers go, named volumes stay. */
  down(): Promise<void>;
  /** The stage's `--scale` settings (verify.scale), for a step that scales and must keep the others. */
  readonly scale: Readonly<Record<string, number>>;
}

export interface VerifyStep {
  readonly id: string;
  readonly name: string;
  readonly hint: string;
  readonly logs?: readonly string[];
  /** Steps that restart containers need more than the 30 s of a check. */
  readonly timeoutMs?: number;
  run(ctx: VerifyContext): Promise<string | undefined>;
}

/** What `npm run verify` does with a stage on top of its checks. */
export interface VerifyHooks {
  /** `docker compose up --scale` settings, e.g. { web: 4 }. */
  readonly scale?: Readonly<Record<string, number>>;
  /** End-to-end steps only a real stack shows (restarts, killed replicas), run after the checks. */
  readonly extras?: readonly VerifyStep[];
}

/** The default export of a stage's checks file. */
export interface StageChecks {
  /** Ids of earlier stages' checks that no longer hold from this stage on. */
  readonly retires?: readonly string[];
  readonly checks: readonly Check[];
  readonly verify?: VerifyHooks;
}
