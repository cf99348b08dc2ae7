// `npm run check -- <stage>`: checks a running stage from the outside, and
// with --report sends the verdicts to the class board. See
// docs/instructor-guide.md, and `npm run check -- --help`.
import { stagesWithChecks } from '../lib/checks/stage-checks.ts';
import { parseOrExit } from '../lib/cli.ts';
import { repoRoot } from '../lib/root.ts';
import { parseCheckArgs, usage } from './args.ts';
import { createCheckSession } from './session.ts';

const stages = stagesWithChecks();

const args = parseOrExit(() => parseCheckArgs(process.argv.slice(2), stages, process.env), usage(stages));
const session = createCheckSession({
  repoRoot,
  args,
  env: process.env,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});

if (args.watch === undefined) process.exit(await session.once());

// --watch: the first Ctrl-C ends the wait (or lets the round that runs finish), a second one stops at once.
const stop = new AbortController();
process.on('SIGINT', () => {
  if (stop.signal.aborted) process.exit(130);
  stop.abort();
});
process.exit(await session.watch(stop.signal));
