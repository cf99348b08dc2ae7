// The command line of `npm run check -- <stage> [--url URL] [--project NAME] [--json] [--no-docker]`.
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
}

export type Parsed = { help: true } | ({ help: false } & CheckArgs);

export function usage(stages: readonly StageInfo[]): string {
  return `Usage: npm run check -- <stage> [--url URL] [--project NAME] [--json] [--no-docker]

Checks a running stage from the outside, the way its users see it.

  <stage>          ${stages.map((s) => s.folder).join(', ')} (or just the number: ${stages[0]?.number ?? 1})
  --url URL        where the stage answers (default http://localhost:$WEB_PORT, WEB_PORT defaults to 8080)
  --project NAME   its compose project, for the Docker checks (default: the name
                   that \`docker compose up\` gives it in its folder, e.g. 02-compose)
  --json           print the results as JSON
  --no-docker      skip the checks that ask \`docker compose\`

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

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? splitOnce(arg, '=') : [arg, undefined];
    const value = () => {
      const next = inline ?? argv[++i];
      if (next === undefined || next === '') throw new UsageError(`${flag} needs a value.`);
      return next;
    };
    if (flag === '--help' || flag === '-h') return { help: true };
    else if (flag === '--json') json = true;
    else if (flag === '--no-docker') docker = false;
    else if (flag === '--url') url = value();
    else if (flag === '--project') project = value();
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
  };
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
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url must be a URL like http://localhost:8080, got "${raw}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must start with http:// or https://, got "${raw}".`);
  }
  return url.href.replace(/\/+$/, '');
}
