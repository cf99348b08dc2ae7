// Code in the docs that is NOT included from a file can drift from the real
// code without anybody noticing. The rule: a ```ts, ```yaml or ```dockerfile
// block without an include marker is allowed only as a fragment of at most
// FRAGMENT_MAX_LINES lines (a line of compose.yaml to change, a wrong example),
// or when the line before it says why it stands alone:
//
//   <!-- not-included: what a compose v1 file looked like -->
//   ```yaml
//   ...
import { findIncludes } from './includes.ts';
import { type Doc, findFences, type Problem } from './markdown.ts';

export const FRAGMENT_MAX_LINES = 8;
export const CHECKED_LANGUAGES = new Set(['ts', 'typescript', 'yaml', 'yml', 'dockerfile']);

const NOT_INCLUDED = /^\s*<!--\s*not-included:(.*?)-->\s*$/;

export function checkFragments(doc: Doc): Problem[] {
  const included = new Set(findIncludes(doc).includes.map((include) => include.fence.open));
  const problems: Problem[] = [];
  for (const fence of findFences(doc.lines)) {
    if (included.has(fence.open) || !CHECKED_LANGUAGES.has(fence.lang)) continue;
    const before = previousNonBlank(doc.lines, fence.open - 1);
    const reason = before === undefined ? undefined : NOT_INCLUDED.exec(doc.lines[before] ?? '');
    if (reason) {
      if ((reason[1] ?? '').trim() === '') {
        problems.push({
          doc: doc.path,
          line: (before ?? 0) + 1,
          message: '`<!-- not-included: -->` needs a reason',
        });
      }
      continue;
    }
    if (fence.content.length <= FRAGMENT_MAX_LINES) continue;
    problems.push({
      doc: doc.path,
      line: fence.open + 1,
      message:
        `a \`\`\`${fence.lang} block of ${fence.content.length} lines that is not included from a file. ` +
        `Include it from the real file (\`<!-- include: PATH#region -->\` ... \`<!-- /include -->\`), ` +
        `cut it to a fragment of at most ${FRAGMENT_MAX_LINES} lines, ` +
        `or say on the line before why it stands alone: \`<!-- not-included: reason -->\``,
    });
  }
  return problems;
}

function previousNonBlank(lines: readonly string[], from: number): number | undefined {
  for (let i = from; i >= 0; i--) if ((lines[i] ?? '').trim() !== '') return i;
  return undefined;
}
