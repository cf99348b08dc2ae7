// Which stages there are and what each check id means, read from the checks
// themselves (tools/check/stages): the board knows the names, so a report
// needs to send only ids.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checksDir } from '../check/check.ts';
import { listStages } from '../check/stages.ts';
import type { StageChecks } from '../check/types.ts';

export interface Catalogue {
  /** The stage folders, in order: "01-app", "02-compose"... */
  readonly stages: string[];
  readonly checkNames: Map<string, string>;
}

export async function loadCatalogue(repoRoot: string): Promise<Catalogue> {
  const dir = checksDir(repoRoot);
  const stages = listStages(dir);
  const checkNames = new Map<string, string>();
  for (const stage of stages) {
    try {
      const module = await import(pathToFileURL(join(dir, `${stage.folder}.ts`)).href);
      for (const check of (module.default as StageChecks).checks) checkNames.set(check.id, check.name);
    } catch (err) {
      // One broken checks file costs its names (the board shows the ids), not the whole board.
      console.error(
        `The checks of ${stage.folder} do not load (${(err as Error).message}): ids shown instead.`,
      );
    }
  }
  return { stages: stages.map((stage) => stage.folder), checkNames };
}
