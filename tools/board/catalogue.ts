// Which stages there are and what each check id means, read from the checks
// themselves (tools/lib/checks/stages): the board knows the names, so a report
// needs to send only ids.
import { pathToFileURL } from 'node:url';
import { checksFile, stagesWithChecks } from '../lib/checks/stage-checks.ts';
import type { StageChecks } from '../lib/checks/types.ts';

export interface Catalogue {
  /** The stage folders, in order: "01-app", "02-compose"... */
  readonly stages: string[];
  readonly checkNames: Map<string, string>;
}

export async function loadCatalogue(): Promise<Catalogue> {
  const stages = stagesWithChecks();
  const checkNames = new Map<string, string>();
  for (const stage of stages) {
    try {
      const module = await import(pathToFileURL(checksFile(stage)).href);
      for (const check of (module.default as StageChecks).checks) checkNames.set(check.id, check.name);
    } catch (err) {
      // One broken checks file costs its names (the board shows the ids), not the whole board.
      console.error(
        `The checks of ${stage.name} do not load (${(err as Error).message}): ids shown instead.`,
      );
    }
  }
  return { stages: stages.map((stage) => stage.name), checkNames };
}
