// The stages that have checks: one file per stage in tools/check/stages/,
// named like the stage's folder (02-compose.ts for stages/02-compose). Adding
// a stage's checks is adding that one file.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Check, StageChecks, VerifyStep } from './types.ts';

export interface StageInfo {
  /** The stage's folder name: "02-compose". */
  readonly folder: string;
  /** 2 */
  readonly number: number;
  /** The chapter of the handout, with the section that helps when something is wrong. */
  readonly chapter: string;
}

export interface LoadedStage extends StageInfo {
  readonly checks: StageChecks;
}

/** A check (or verify step) together with the stage that brought it. */
export interface StagedCheck {
  readonly check: Check | VerifyStep;
  readonly from: StageInfo;
}

const STAGE_FILE = /^(\d\d)-[a-z0-9-]+\.ts$/;

export function listStages(checksDir: string): StageInfo[] {
  return readdirSync(checksDir)
    .filter((file) => STAGE_FILE.test(file))
    .sort()
    .map((file) => {
      const folder = file.slice(0, -'.ts'.length);
      return {
        folder,
        number: Number(folder.slice(0, 2)),
        chapter: `docs/${folder}.md#do-you-have-a-problem`,
      };
    });
}

/** "03", "3", "03-db", "db", "stages/03-db/" all name stage 03; undefined when none matches. */
export function findStage(name: string, stages: readonly StageInfo[]): StageInfo | undefined {
  const wanted = name
    .trim()
    .replace(/^(\.\/)?stages\//, '')
    .replace(/\/+$/, '');
  if (/^\d{1,2}$/.test(wanted)) return stages.find((s) => s.number === Number(wanted));
  return stages.find((s) => s.folder === wanted || s.folder.slice(3) === wanted);
}

/** Loads the checks files of every stage up to and including `upTo`. */
export async function loadStages(checksDir: string, upTo: number): Promise<LoadedStage[]> {
  const loaded: LoadedStage[] = [];
  for (const stage of listStages(checksDir).filter((s) => s.number <= upTo)) {
    const module = await import(pathToFileURL(join(checksDir, `${stage.folder}.ts`)).href);
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
