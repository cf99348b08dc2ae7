// `npm run reset -- <stage> [--project NAME]`: see reset.ts.
import { parseOrExit } from '../lib/cli.ts';
import { readCompose } from '../lib/compose-file.ts';
import { commandError } from '../lib/process.ts';
import { findStage, listStages } from '../lib/stages.ts';
import { composeDown, composeDownArgs, parseResetArgs, USAGE, WHY } from './reset.ts';

const args = parseOrExit(() => parseResetArgs(process.argv.slice(2)), USAGE);
const stage = parseOrExit(() => ({ help: false, ...findStage(listStages(), args.stage) }), USAGE);

const volumes = readCompose(stage).volumes;
const project = args.project ?? process.env.COMPOSE_PROJECT_NAME ?? stage.name;
console.log(`Resetting stages/${stage.name} (compose project ${project}):`);
console.log(
  `its containers stop and are removed, and so are its volumes` +
    `${volumes.length ? ` (${volumes.map((v) => `${project}_${v}`).join(', ')})` : ''} and their data.`,
);
console.log(`$ cd stages/${stage.name} && docker ${composeDownArgs(args.project).join(' ')}\n`);

const result = await composeDown(stage.dir, args.project);
if (result.error === 'ENOENT') {
  console.error(
    `${commandError(result)}\nDocker is not installed or not on the PATH: run \`npm run doctor\`.`,
  );
  process.exit(1);
}
if (result.code !== 0) {
  console.error(
    `\ndocker compose down failed (${result.failure ?? `exit ${result.code}`}): \`npm run doctor\` checks Docker and compose.`,
  );
  process.exit(result.code ?? 1);
}
console.log(`\nDone: stages/${stage.name} starts from nothing next time.\n\n${WHY}`);
