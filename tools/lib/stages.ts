// The one registry of the workshop's stages: the stages/NN-name folders, for
// every tool that takes a stage on the command line. No packages here: the
// check image, which has no node_modules, imports this file too.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './cli.ts';
import { repoRoot } from './root.ts';

export interface Stage {
  /** 2 */
  readonly number: number;
  /** The folder name: "02-compose". */
  readonly name: string;
  /** The absolute path of the folder. */
  readonly dir: string;
  /** The chapter of the handout, with the section that helps when something is wrong. */
  readonly chapter: string;
}

/** Every stages/NN-name folder, in order. */
export function listStages(root: string = repoRoot): Stage[] {
  const stagesDir = join(root, 'stages');
  return readdirSync(stagesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^\d\d-[a-z0-9-]+$/.test(entry.name))
    .map((entry) => entry.name)
    .sort()
    .map((name) => ({
      number: Number(name.slice(0, 2)),
      name,
      dir: join(stagesDir, name),
      chapter: `docs/${name}.md#do-you-have-a-problem`,
    }));
}

/** A stage that is not there: a bad command line, so the command prints its usage and exits 2. */
export class UnknownStageError extends UsageError {}

/**
 * The stage an attendee means: "02", "2", "02-compose", "compose" or
 * "stages/02-compose/" all name stages/02-compose. Throws UnknownStageError
 * (naming the stages there are) when none matches.
 */
export function findStage(stages: readonly Stage[], query: string): Stage {
  const wanted = query
    .trim()
    .replace(/\/+$/, '')
    .replace(/^(\.\/)?stages\//, '');
  const found = stages.find(
    (stage) =>
      stage.name === wanted ||
      (/^\d{1,2}$/.test(wanted) && stage.number === Number(wanted)) ||
      stage.name.slice(3) === wanted,
  );
  if (!found) {
    const known = stages.map((stage) => stage.name).join(', ') || 'none';
    throw new UnknownStageError(`There is no stage "${query}". The stages are: ${known}.`);
  }
  return found;
}
