// The command line of `npm run bench -- [options]`. Tests import this file.
import { readCommandLine, UsageError } from '../lib/cli.ts';
import { SECTIONS, type SectionName } from './report.ts';

export interface BenchArgs {
  readonly quick: boolean;
  /** The sections to run, in the order of SECTIONS. */
  readonly sections: SectionName[];
  /** Where benchmarks.json and benchmarks.md go; undefined: the default (see USAGE). */
  readonly out?: string;
  /** Only rebuild the page from the JSON that is there. */
  readonly render: boolean;
  /** Never install nginx, even as root. */
  readonly install: boolean;
}

export type Parsed = { help: true } | ({ help: false } & BenchArgs);

export const USAGE = `Usage: npm run bench -- [--quick] [--only SECTION,...] [--out DIR] [--no-install] [--render]

Measures the workshop's system on this machine, side by side with what you
would otherwise use, and writes the results into docs/benchmarks.md (tables
and charts) and docs/benchmarks.json (raw numbers).

  --quick          a short smoke run (about a minute): too short to trust the
                   numbers, long enough to show that everything runs
  --only SECTIONS  some of: ${SECTIONS.join(', ')} (default: all)
  --out DIR        write benchmarks.json and benchmarks.md there. Default: docs/
                   for a full run of every section; reports/bench-<time>/ for
                   --quick or --only (so they never replace the real results)
  --no-install     do not install nginx (as root, the run installs Debian's
                   nginx-light package when nginx is missing)
  --render         measure nothing: rebuild benchmarks.md from benchmarks.json

Needs: Redis and PostgreSQL binaries (like \`npm test\`), nginx, and a running
Docker engine for the images and start-up sections.`;

export function parseBenchArgs(argv: readonly string[]): Parsed {
  const { values } = readCommandLine(argv, {
    quick: { type: 'boolean', default: false },
    render: { type: 'boolean', default: false },
    'no-install': { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string', multiple: true },
  });
  if (values.help) return { help: true };
  const only = values.only?.flatMap(parseSections);
  const sections = SECTIONS.filter((s) => (only ? only.includes(s) : true));
  return {
    help: false,
    quick: values.quick,
    sections,
    out: values.out,
    render: values.render,
    install: !values['no-install'],
  };
}

function parseSections(text: string): SectionName[] {
  return text.split(',').map((part) => {
    const name = part.trim();
    if (!(SECTIONS as readonly string[]).includes(name)) {
      throw new UsageError(`--only: no section "${name}". Sections: ${SECTIONS.join(', ')}.`);
    }
    return name as SectionName;
  });
}

/** Whether this run replaces the real results in docs/ (a full run of every section). */
export function writesDocs(args: BenchArgs): boolean {
  return !args.quick && args.sections.length === SECTIONS.length;
}
