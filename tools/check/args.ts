// The command line of `npm run check -- <stage> [--url URL] [--project NAME] [--json] [--no-docker]
// [--report URL --as NAME [--code CODE]] [--watch N]`.
import { readCommandLine, UsageError } from '../lib/cli.ts';
import { defaultProjectName } from '../lib/compose.ts';
import { findStage, type Stage } from '../lib/stages.ts';

export interface CheckArgs {
  readonly stage: Stage;
  /** Without a trailing slash. */
  readonly url: string;
  /** The compose project whose containers the Docker checks look at. */
  readonly project: string;
  readonly json: boolean;
  /** False with --no-docker: the Docker checks are skipped. */
  readonly docker: boolean;
  /** --report: where the class board is, and the name to appear as. */
  readonly report?: BoardReport;
  /** --watch N: check (and report) every N seconds until Ctrl-C. */
  readonly watch?: number;
}

export interface BoardReport {
  /** Without a trailing slash. */
  readonly url: string;
  readonly as: string;
  /** The class code; needed the first time only (the token it gives is kept). */
  readonly code?: string;
}

/** Fewer seconds than this between rounds is a flood, not a watch. */
export const WATCH_MIN_SECONDS = 5;

export type Parsed = { help: true } | ({ help: false } & CheckArgs);

export function usage(stages: readonly Stage[]): string {
  return `Usage: npm run check -- <stage> [--url URL] [--project NAME] [--json] [--no-docker]
                        [--report URL --as NAME [--code CODE]] [--watch N]

Checks a running stage from the outside, the way its users see it.

  <stage>          ${stages.map((s) => s.name).join(', ')} (or just the number: ${stages[0]?.number ?? 1})
  --url URL        where the stage answers (default http://localhost:$WEB_PORT, WEB_PORT defaults to 8080)
  --project NAME   its compose project, for the Docker checks (default: the name
                   that \`docker compose up\` gives it in its folder, e.g. 02-compose)
  --json           print the results as JSON
  --no-docker      skip the checks that ask \`docker compose\`
  --report URL     send the verdicts to the class board at URL (or CHECK_REPORT): the stage,
                   each check's id, verdict and duration, and this tool's version; nothing else
  --as NAME        your name on the board (or CHECK_AS)
  --code CODE      the class code the board shows (or CHECK_CODE); needed the first time only
  --watch N        check again every N seconds (at least ${WATCH_MIN_SECONDS}; or CHECK_WATCH) until Ctrl-C

Exit code: 0 when every check passed, 1 when one failed or nothing answers, 2 for a bad command line.`;
}

export function parseCheckArgs(
  argv: readonly string[],
  stages: readonly Stage[],
  env: NodeJS.ProcessEnv = {},
): Parsed {
  const { values, positionals } = readCommandLine(
    argv,
    {
      url: { type: 'string' },
      project: { type: 'string' },
      json: { type: 'boolean', default: false },
      'no-docker': { type: 'boolean', default: false },
      report: { type: 'string' },
      as: { type: 'string' },
      code: { type: 'string' },
      watch: { type: 'string' },
    },
    { positionals: true },
  );
  if (values.help) return { help: true };
  const [stageName, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`One stage at a time: got ${stageName} and ${extra}.`);

  const known = stages.map((s) => s.name).join(', ');
  if (stageName === undefined) throw new UsageError(`Which stage? One of: ${known}.`);
  const stage = findStage(stages, stageName);

  return {
    help: false,
    stage,
    url: checkUrl(values.url ?? env.CHECK_URL ?? `http://localhost:${webPort(env)}`),
    project: values.project ?? env.COMPOSE_PROJECT_NAME ?? defaultProjectName(stage.name),
    json: values.json,
    docker: !values['no-docker'],
    report: boardReport(
      values.report ?? nonEmpty(env.CHECK_REPORT),
      values.as ?? nonEmpty(env.CHECK_AS),
      values.code ?? nonEmpty(env.CHECK_CODE),
    ),
    watch: watchSeconds(values.watch ?? nonEmpty(env.CHECK_WATCH)),
  };
}

/** compose passes an unset variable as "": that is no setting. */
function nonEmpty(value: string | undefined): string | undefined {
  return value?.trim() ? value.trim() : undefined;
}

function boardReport(
  url: string | undefined,
  as: string | undefined,
  code: string | undefined,
): BoardReport | undefined {
  if (url === undefined) {
    if (as !== undefined) throw new UsageError('--as names you on the class board: add --report URL.');
    return undefined;
  }
  if (as === undefined) throw new UsageError('--report needs --as NAME: the name the board shows for you.');
  return { url: httpUrl(url, '--report', 'http://192.168.1.20:4000'), as, ...(code ? { code } : {}) };
}

function watchSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < WATCH_MIN_SECONDS || seconds > 3600) {
    throw new UsageError(`--watch takes seconds, from ${WATCH_MIN_SECONDS} to 3600, got "${raw}".`);
  }
  return seconds;
}

function webPort(env: NodeJS.ProcessEnv): number {
  const raw = env.WEB_PORT?.trim();
  if (!raw) return 8080;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`WEB_PORT must be a port number from 1 to 65535, got "${raw}".`);
  }
  return port;
}

function checkUrl(raw: string): string {
  return httpUrl(raw, '--url', 'http://localhost:8080');
}

function httpUrl(raw: string, option: string, example: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${option} must be a URL like ${example}, got "${raw}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${option} must start with http:// or https://, got "${raw}".`);
  }
  return url.href.replace(/\/+$/, '');
}
