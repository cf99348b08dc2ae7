// `npm run reset -- 03`: removes a stage's containers AND its volumes, so the
// next `docker compose up` starts from nothing. Why that matters is in WHY.
import { readCommandLine, UsageError } from '../lib/cli.ts';
import { type CommandResult, runCommand } from '../lib/process.ts';

export const USAGE = `Usage: npm run reset -- <stage> [--project NAME]
  npm run reset -- 03                    docker compose down -v --remove-orphans in stages/03-db
  npm run reset -- 03 --project myname   the same for a stage started with \`docker compose -p myname up\``;

export const WHY = `Why reset? A named volume outlives \`docker compose down\`: only \`down -v\` deletes it.
Until then every \`docker compose up\` brings the old state back, and that confuses:
- PostgreSQL reads POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB only when its data
  directory is empty, on the very first start. Change them later and nothing happens: the
  old database, with the old password, is still there ("password authentication failed").
- The records of an earlier run are still there, and new ids go on from the old ones.
- Redis keeps the counter and the queue's jobs as long as its container or volume lives:
  the count does not start at 1, and old jobs are picked up again by a new worker.
Start again with: docker compose up --build`;

export interface ResetArgs {
  readonly stage: string;
  readonly project?: string;
}

/** The stage and the optional project name; a bad command line throws a UsageError. */
export function parseResetArgs(argv: readonly string[]): { help: true } | ({ help: false } & ResetArgs) {
  const { values, positionals } = readCommandLine(
    argv,
    { project: { type: 'string', short: 'p' } },
    { positionals: true },
  );
  if (values.help) return { help: true };
  const [stage, extra] = positionals;
  if (stage === undefined) throw new UsageError('Which stage?');
  if (extra !== undefined) throw new UsageError(`One stage at a time (got ${stage} and ${extra}).`);
  const { project } = values;
  if (project === undefined) return { help: false, stage };
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(project)) {
    throw new UsageError(`"${project}" is not a compose project name: lower-case letters, digits, - and _`);
  }
  return { help: false, stage, project };
}

/** The arguments of `docker` that reset a stage. */
export function composeDownArgs(project?: string): string[] {
  return ['compose', ...(project ? ['-p', project] : []), 'down', '--volumes', '--remove-orphans'];
}

/** Runs the reset in the stage's folder, its output shown as it comes (`echo`). */
export function composeDown(dir: string, project?: string, echo = true): Promise<CommandResult> {
  return runCommand('docker', composeDownArgs(project), { cwd: dir, echo, timeoutMs: 120_000 });
}
