// `npm run reset -- 03`: removes a stage's containers AND its volumes, so the
// next `docker compose up` starts from nothing. Why that matters is in WHY.
import { spawnSync } from 'node:child_process';

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

/** The stage and the optional project name, or an error message. */
export function parseResetArgs(argv: readonly string[]): ResetArgs | { error: string } {
  let stage: string | undefined;
  let project: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--project' || arg === '-p') {
      project = argv[++i];
      if (!project) return { error: `${arg} needs a name` };
    } else if (arg.startsWith('--project=')) {
      project = arg.slice('--project='.length);
    } else if (arg.startsWith('-')) {
      return { error: `Unknown option ${arg}` };
    } else if (stage === undefined) {
      stage = arg;
    } else {
      return { error: `One stage at a time (got ${stage} and ${arg})` };
    }
  }
  if (!stage) return { error: 'Which stage?' };
  if (project !== undefined && !/^[a-z0-9][a-z0-9_-]*$/.test(project)) {
    return { error: `"${project}" is not a compose project name: lower-case letters, digits, - and _` };
  }
  return project === undefined ? { stage } : { stage, project };
}

/** The arguments of `docker` that reset a stage. */
export function composeDownArgs(project?: string): string[] {
  return ['compose', ...(project ? ['-p', project] : []), 'down', '--volumes', '--remove-orphans'];
}

/** Runs the reset in the stage's folder, its output shown as it comes; resolves with the exit code. */
export function composeDown(dir: string, project?: string, echo = true): { code: number; output: string } {
  const result = spawnSync('docker', composeDownArgs(project), {
    cwd: dir,
    encoding: 'utf8',
    stdio: echo ? ['ignore', 'inherit', 'inherit'] : 'pipe',
    timeout: 120_000,
  });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return { code: 127, output: 'docker: command not found' };
  }
  return { code: result.status ?? 1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}
