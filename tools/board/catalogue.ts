// Which stages there are and what each check id means, read from the checks
// themselves (tools/check/stages): the board knows the names, so a report
// needs to send only ids.
import { checksDir } from '../check/check.ts';
import { loadStages } from '../check/stages.ts';

export interface Catalogue {
  /** The stage folders, in order: "01-app", "02-compose"... */
  readonly stages: string[];
  readonly checkNames: Map<string, string>;
}

export async function loadCatalogue(repoRoot: string): Promise<Catalogue> {
  const loaded = await loadStages(checksDir(repoRoot), Number.POSITIVE_INFINITY);
  const checkNames = new Map<string, string>();
  for (const stage of loaded) {
    for (const check of stage.checks.checks) checkNames.set(check.id, check.name);
  }
  return { stages: loaded.map((stage) => stage.folder), checkNames };
}
