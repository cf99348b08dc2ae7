// The command line of `npm run check -- <stage> [--url URL] [--project NAME] [--json] [--no-docker]
// [--report URL --as NAME [--code CODE]] [--watch N]`.
import { UsageError } from '../lib/cli.ts';
import { defaultProjectName } from './compose.ts';
import { findStage, type StageInfo } from './stages.ts';

export interface CheckArgs {
  readonly stage: StageInfo;
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

export function usage(stages: readonly StageInfo[]): string {
  return `Usage: npm run check -- <stage> [--url URL] [--project NAME] [--json] [--no-docker]
                        [--report URL --as NAME [--code CODE]] [--watch N]

Checks a running stage from the outside, the way its users see it.

  <stage>          ${stages.map((s) => s.folder).join(', ')} (or just the number: ${stages[0]?.number ?? 1})
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
  stages: readonly StageInfo[],
  env: NodeJS.ProcessEnv = {},
): Parsed {
  let stageName: string | undefined;
  let url: string | undefined;
  let project: string | undefined;
  let json = false;
  let docker = true;
  let report: string | undefined;
  let as: string | undefined;
  let code: string | undefined;
  let watch: string | undefined;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? splitOnce(arg, '=') : [arg, undefined];
    const value = () => {
      const next = inline ?? argv[++i];
      // `--code --as ada` is a missing value, not the code "--as".
      if (next === undefined || next === '' || (inline === undefined && next.startsWith('--'))) {
        throw new UsageError(`${flag} needs a value.`);
      }
      return next;
    };
    if (flag === '--help' || flag === '-h') return { help: true };
    else if (flag === '--json') json = true;
    else if (flag === '--no-docker') docker = false;
    else if (flag === '--url') url = value();
    else if (flag === '--project') project = value();
    else if (flag === '--report') report = value();
    else if (flag === '--as') as = value();
    else if (flag === '--code') code = value();
    else if (flag === '--watch') watch = value();
    else if (flag.startsWith('-')) throw new UsageError(`Unknown option ${flag}.`);
    else if (stageName !== undefined)
      throw new UsageError(`One stage at a time: got ${stageName} and ${arg}.`);
    else stageName = arg;
  }

  const known = stages.map((s) => s.folder).join(', ');
  if (stageName === undefined) throw new UsageError(`Which stage? One of: ${known}.`);
  const stage = findStage(stageName, stages);
  if (!stage) throw new UsageError(`No checks for a stage "${stageName}". Stages with checks: ${known}.`);

  return {
    help: false,
    stage,
    url: checkUrl(url ?? env.CHECK_URL ?? `http://localhost:${webPort(env)}`),
    project: project ?? env.COMPOSE_PROJECT_NAME ?? defaultProjectName(stage.folder),
    json,
    docker,
    report: boardReport(
      report ?? nonEmpty(env.CHECK_REPORT),
      as ?? nonEmpty(env.CHECK_AS),
      code ?? nonEmpty(env.CHECK_CODE),
    ),
    watch: watchSeconds(watch ?? nonEmpty(env.CHECK_WATCH)),
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

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return [text.slice(0, at), text.slice(at + 1)];
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
