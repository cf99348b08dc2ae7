// The checks of each stage: one file per stage in tools/lib/checks/stages/,
// named like the stage's folder (02-compose.ts for stages/02-compose). Adding
// a stage's checks is adding that one file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listStages, type Stage } from '../stages.ts';
import type { Check, StageChecks, VerifyStep } from './types.ts';

const CHECKS_DIR = join(import.meta.dirname, 'stages');

export interface LoadedStage extends Stage {
  readonly checks: StageChecks;
}

/** A check (or verify step) together with the stage that brought it. */
export interface StagedCheck {
  readonly check: Check | VerifyStep;
  readonly from: Stage;
}

/** The file with a stage's checks: tools/lib/checks/stages/02-compose.ts. */
export function checksFile(stage: Pick<Stage, 'name'>): string {
  return join(CHECKS_DIR, `${stage.name}.ts`);
}

/** The stages (of `root`, the repository's by default) that have a checks file. */
export function stagesWithChecks(root?: string): Stage[] {
  return listStages(root).filter((stage) => existsSync(checksFile(stage)));
}

/** Loads the checks files of every stage up to and including `upTo`. */
export async function loadStages(upTo: number): Promise<LoadedStage[]> {
  const loaded: LoadedStage[] = [];
  for (const stage of stagesWithChecks().filter((s) => s.number <= upTo)) {
    const module = await import(pathToFileURL(checksFile(stage)).href);
    loaded.push({ ...stage, checks: module.default as StageChecks });
  }
  return loaded;
}

/**
 * The checks of a stage: its own and those of every earlier stage that still
 * hold (a stage lists in `retires` the ones it replaces), earliest stage first.
 */
export function cumulativeChecks(loaded: readonly LoadedStage[], upTo: number): StagedCheck[] {
  const upToHere = loaded.filter((s) => s.number <= upTo);
  const retired = new Set(upToHere.flatMap((s) => s.checks.retires ?? []));
  return upToHere.flatMap((stage) =>
    stage.checks.checks.filter((check) => !retired.has(check.id)).map((check) => ({ check, from: stage })),
  );
}
