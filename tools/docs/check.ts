// Every docs check over every doc, for the tests and `npm run docs:sync -- --check`.
import { checkFragments } from './fragments.ts';
import { checkIncludes, syncIncludes } from './includes.ts';
import { checkLinks } from './links.ts';
import { type Doc, findDocs, type Problem, readDoc } from './markdown.ts';
import { checkMermaid } from './mermaid.ts';
import { checkStageReadmes, checkUnusedRegions } from './stages.ts';
import { checkSummaries, syncSummaries } from './summaries.ts';

export type CheckName = 'includes' | 'summaries' | 'fragments' | 'links' | 'mermaid';

export const CHECKS: Record<CheckName, (root: string, doc: Doc) => Problem[]> = {
  includes: checkIncludes,
  summaries: checkSummaries,
  fragments: (_root, doc) => checkFragments(doc),
  links: checkLinks,
  mermaid: checkMermaid,
};

/** Every check of every doc; without `names`, also the stages' READMEs and their unused regions. */
export function checkDocs(root: string, names?: CheckName[]): Problem[] {
  const problems: Problem[] = [];
  for (const path of findDocs(root)) {
    const doc = readDoc(root, path);
    for (const name of names ?? (Object.keys(CHECKS) as CheckName[]))
      problems.push(...CHECKS[name](root, doc));
  }
  if (!names) problems.push(...checkStageReadmes(root), ...checkUnusedRegions(root));
  return problems;
}

/** A doc with its listings and summaries rewritten from their sources. */
export function syncDoc(root: string, doc: Doc): { lines: string[]; problems: Problem[]; changed: number } {
  const included = syncIncludes(root, doc);
  const summarized = syncSummaries(root, { path: doc.path, lines: included.lines });
  return {
    lines: summarized.lines,
    problems: [...included.problems, ...summarized.problems],
    changed: included.changed + summarized.changed,
  };
}
