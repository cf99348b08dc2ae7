// `npm run reset -- <stage> [--project NAME]`: see reset.ts.
import { findRepoRoot, findStage, readCompose, UnknownStageError } from '../lib/stages.ts';
import { composeDown, composeDownArgs, parseResetArgs, USAGE, WHY } from './reset.ts';

const root = findRepoRoot(import.meta.dirname);
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const args = parseResetArgs(argv);
if ('error' in args) {
  console.error(`${args.error}\n\n${USAGE}`);
  process.exit(2);
}

let stage: ReturnType<typeof findStage>;
try {
  stage = findStage(root, args.stage);
} catch (err) {
  if (!(err instanceof UnknownStageError)) throw err;
  console.error(err.message);
  process.exit(2);
}

const volumes = readCompose(stage).volumes;
const project = args.project ?? process.env.COMPOSE_PROJECT_NAME ?? stage.name;
console.log(`Resetting stages/${stage.name} (compose project ${project}):`);
console.log(
  `its containers stop and are removed, and so are its volumes` +
    `${volumes.length ? ` (${volumes.map((v) => `${project}_${v}`).join(', ')})` : ''} and their data.`,
);
console.log(`$ cd stages/${stage.name} && docker ${composeDownArgs(args.project).join(' ')}\n`);

const { code, output } = composeDown(stage.dir, args.project);
if (code === 127) {
  console.error(`${output}\nDocker is not installed or not on the PATH: run \`npm run doctor\`.`);
  process.exit(1);
}
if (code !== 0) {
  console.error(`\ndocker compose down failed (exit ${code}): \`npm run doctor\` checks Docker and compose.`);
  process.exit(code);
}
console.log(`\nDone: stages/${stage.name} starts from nothing next time.\n\n${WHY}`);
