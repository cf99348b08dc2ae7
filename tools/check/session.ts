// One `npm run check` as the command line asks for it: run the stage's checks
// once, print them, send them to the class board (--report), and with --watch
// do it again every N seconds until the signal (Ctrl-C) stops it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHttp } from '../lib/checks/http.ts';
import { count, formatResult, formatSummary } from '../lib/checks/report.ts';
import type { CheckResult } from '../lib/checks/run.ts';
import { notAnswering, probe, runStageChecks } from '../lib/checks/stage-run.ts';
import { composeProject } from '../lib/compose.ts';
import type { CheckArgs } from './args.ts';
import { BoardError, createBoardClient, tokenFile } from './board-client.ts';

export interface SessionOptions {
  readonly repoRoot: string;
  readonly args: CheckArgs;
  readonly env: NodeJS.ProcessEnv;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export function createCheckSession({ repoRoot, args, env, out, err }: SessionOptions) {
  const { stage, url, json } = args;
  const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
  const board = args.report
    ? createBoardClient({
        url: args.report.url,
        name: args.report.as,
        code: args.report.code,
        tokenFile: tokenFile(env),
      })
    : undefined;

  /** What goes to the board: the stage, each check's id, verdict and duration, the version. Nothing else. */
  async function send(results: readonly CheckResult[]): Promise<boolean> {
    if (!board || !args.report) return true;
    const checks = results.map((r) => ({ id: r.id, verdict: r.status, ms: r.ms }));
    try {
      await board.report({ stage: stage.name, version, checks });
      err(`Reported to ${args.report.url} as ${args.report.as}.`);
      return true;
    } catch (e) {
      if (!(e instanceof BoardError)) throw e;
      err(e.message);
      return false;
    }
  }

  /** One round; resolves with the exit code: 0 when every check passed and the report went. */
  async function once(): Promise<number> {
    const unanswered = await probe(createHttp(url));
    if (unanswered) {
      const message = notAnswering(url, stage, unanswered);
      if (json) out(JSON.stringify({ stage: stage.name, url, answering: false, message }, null, 2));
      else err(message);
      await send([]);
      return 1;
    }
    const results = await runStageChecks({
      stage,
      url,
      compose: composeProject({ project: args.project }),
      docker: args.docker,
      env,
      onResult: json ? undefined : (result) => out(formatResult(result)),
    });
    const counts = count(results);
    if (json) {
      const report = { stage: stage.name, url, project: args.project, answering: true, ...counts, results };
      out(JSON.stringify(report, null, 2));
    } else {
      out(formatSummary(results));
    }
    const sent = await send(results);
    return counts.failed === 0 && sent ? 0 : 1;
  }

  /** Rounds every `args.watch` seconds until `signal` aborts; resolves with the last round's exit code. */
  async function watch(signal: AbortSignal): Promise<number> {
    let code = 0;
    while (!signal.aborted) {
      code = await once();
      if (signal.aborted) break;
      err(`Next check in ${args.watch} s (Ctrl-C stops).`);
      await sleep((args.watch ?? 0) * 1000, undefined, { signal }).catch(() => undefined);
    }
    return code;
  }

  return { once, watch };
}
