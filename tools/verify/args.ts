// The command line of `npm run verify -- [stage...] [options]`.

import { readCommandLine, UsageError } from '../lib/cli.ts';
import { findStage, type Stage } from '../lib/stages.ts';

export interface VerifyArgs {
  /** Empty: every stage that has a folder and checks. */
  readonly stages: Stage[];
  /** Host ports to pick from; undefined: any free port the system gives. */
  readonly ports?: { from: number; to: number };
  /** Compose projects are named <prefix>-NN. */
  readonly prefix: string;
  readonly noCache: boolean;
  readonly verbose: boolean;
  /** Where the stage folders are: stages/ of the repository, or a copy (--stages DIR). */
  readonly stagesDir?: string;
}

export type Parsed = { help: true } | ({ help: false } & VerifyArgs);

export const USAGE = `Usage: npm run verify -- [stage...] [--ports FROM-TO] [--prefix NAME] [--stages DIR] [--no-cache] [--verbose]

Builds each stage, starts it in a compose project of its own (verify-01, ...)
on a free host port, waits until it is healthy, runs its checks and its
end-to-end steps, and always takes it down again (down -v), Ctrl-C included.

  stage...         01, 2, 03-db ... (default: every stage that has checks)
  --ports FROM-TO  host ports to publish on (default: any free port)
  --prefix NAME    compose project names NAME-01, NAME-02... (default: verify)
  --stages DIR     take the stage folders from DIR instead of stages/ (a copy
                   with something broken on purpose, to see what verify says)
  --no-cache       build the images from scratch (npm ci again)
  --verbose        show compose's own output

A JSON report goes to reports/verify-<time>.json. Exit code 0 when every stage passed.`;

export function parseVerifyArgs(argv: readonly string[], known: readonly Stage[]): Parsed {
  const { values, positionals } = readCommandLine(
    argv,
    {
      ports: { type: 'string' },
      prefix: { type: 'string', default: 'verify' },
      stages: { type: 'string' },
      'no-cache': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
    { positionals: true },
  );
  if (values.help) return { help: true };
  const stages = [...new Set(positionals.map((name) => findStage(known, name)))];
  return {
    help: false,
    stages: stages.sort((a, b) => a.number - b.number),
    ports: values.ports === undefined ? undefined : parsePorts(values.ports),
    prefix: parsePrefix(values.prefix),
    noCache: values['no-cache'],
    verbose: values.verbose,
    ...(values.stages ? { stagesDir: values.stages } : {}),
  };
}

function parsePorts(text: string): { from: number; to: number } {
  const match = /^(\d+)-(\d+)$/.exec(text);
  const from = Number(match?.[1]);
  const to = Number(match?.[2]);
  if (!match || from < 1024 || to > 65535 || from > to) {
    throw new UsageError(`--ports must be a range like 28080-28099, got "${text}".`);
  }
  return { from, to };
}

function parsePrefix(text: string): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(text)) {
    throw new UsageError(`--prefix must be lower-case letters, digits, - and _, got "${text}".`);
  }
  return text;
}
