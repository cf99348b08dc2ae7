// What `npm run check` and `npm run verify` share: is anything answering, can
// the Docker checks run, and the checks of a stage run against a context.
import type { ComposeProject } from '../compose.ts';
import type { Stage } from '../stages.ts';
import { createHttp, type Http, NoAnswer } from './http.ts';
import { type CheckResult, type RunOptions, runChecks } from './run.ts';
import { cumulativeChecks, loadStages } from './stage-checks.ts';
import type { CheckContext, VerifyContext } from './types.ts';

/** The reason when nothing answers HTTP at the stage's URL; undefined when something does. */
export async function probe(http: Http): Promise<string | undefined> {
  try {
    await http.get('/healthz');
    return undefined;
  } catch (err) {
    if (err instanceof NoAnswer) return err.reason;
    throw err;
  }
}

/** The one message for a stage that is not running, instead of a wall of failures. */
export function notAnswering(url: string, stage: Stage, reason: string): string {
  const port = new URL(url).port;
  const env = port && port !== '8080' && /localhost|127\.0\.0\.1|host\.docker\.internal/.test(url);
  const up = `cd stages/${stage.name} && ${env ? `WEB_PORT=${port} ` : ''}docker compose up --build`;
  const why = reason === 'ECONNREFUSED' ? '' : ` (${reason})`;
  return `Nothing answers on ${url}${why}. Is stage ${stage.name.slice(0, 2)} running? ${up}`;
}

/**
 * Why the Docker checks cannot run here, or undefined when they can: the
 * `docker compose` command answers and the project has containers.
 */
export async function dockerSkipReason(compose: ComposeProject): Promise<string | undefined> {
  if (process.env.CHECK_IN_CONTAINER) {
    return 'no Docker access in the check container';
  }
  try {
    const containers = await compose.ps();
    if (containers.length === 0) {
      return `compose project "${compose.project}" has no containers (another project name? --project NAME)`;
    }
    return undefined;
  } catch (err) {
    const reason = (err as Error).message.split('\n').at(-1) ?? '';
    return `no access to Docker (${reason.replace(/^docker compose ps: /, '')})`;
  }
}

export interface StageRun {
  stage: Stage;
  url: string;
  compose: ComposeProject;
  /** Skip the Docker checks (--no-docker). */
  docker: boolean;
  /** The variables of the stage's published ports (WEB_PORT, DASHBOARD_PORT...), as compose got them. */
  env: Readonly<Record<string, string | undefined>>;
  /** verify's context: adds up()/down() and runs the stage's end-to-end steps too. */
  verify?: Pick<VerifyContext, 'up' | 'down' | 'scale'>;
  onResult?: RunOptions['onResult'];
}

/** Runs a stage's checks (cumulative) against a stage that answers. */
export async function runStageChecks(run: StageRun): Promise<CheckResult[]> {
  const loaded = await loadStages(run.stage.number);
  const staged = cumulativeChecks(loaded, run.stage.number);
  const own = loaded.find((s) => s.number === run.stage.number);
  if (run.verify && own?.checks.verify?.extras) {
    staged.push(...own.checks.verify.extras.map((check) => ({ check, from: own })));
  }
  const needsDocker = staged.some(({ check }) => 'docker' in check && check.docker);
  const dockerSkip = !needsDocker
    ? undefined
    : run.docker
      ? await dockerSkipReason(run.compose)
      : 'run with --no-docker';
  const ctx: CheckContext = {
    stage: run.stage.name,
    url: run.url,
    http: createHttp(run.url),
    compose: run.compose,
    env: run.env,
    ...run.verify,
  };
  return runChecks(staged, ctx, { dockerSkipReason: dockerSkip, onResult: run.onResult });
}
