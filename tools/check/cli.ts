// `npm run check -- <stage>`: checks a running stage from the outside.
// See docs/instructor-guide.md, and `npm run check -- --help`.
import { join } from 'node:path';
import { parseOrExit } from '../lib/cli.ts';
import { parseCheckArgs, usage } from './args.ts';
import { checksDir, notAnswering, probe, runStageChecks } from './check.ts';
import { composeProject } from './compose.ts';
import { createHttp } from './http.ts';
import { count, formatResult, formatSummary } from './report.ts';
import { listStages } from './stages.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const stages = listStages(checksDir(repoRoot));

const args = parseOrExit(() => parseCheckArgs(process.argv.slice(2), stages, process.env), usage(stages));

const { stage, url, json } = args;
const unanswered = await probe(createHttp(url));
if (unanswered) {
  const message = notAnswering(url, stage, unanswered);
  if (json) console.log(JSON.stringify({ stage: stage.folder, url, answering: false, message }, null, 2));
  else console.error(message);
  process.exit(1);
}

const results = await runStageChecks(repoRoot, {
  stage,
  url,
  compose: composeProject({ project: args.project }),
  docker: args.docker,
  env: process.env,
  onResult: json ? undefined : (result) => console.log(formatResult(result)),
});
if (json) {
  const report = {
    stage: stage.folder,
    url,
    project: args.project,
    answering: true,
    ...count(results),
    results,
  };
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(formatSummary(results));
}
process.exit(count(results).failed === 0 ? 0 : 1);
