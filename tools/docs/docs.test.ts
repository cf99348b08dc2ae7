// The docs cannot drift from the code. For every docs/**/*.md (and README.md):
//
// - includes: a listing between `<!-- include: PATH -->` / `<!-- include: PATH#region -->`
//   and `<!-- /include -->` equals the file, or the lines between `// #region NAME` and
//   `// #endregion NAME` (`# #region NAME` in YAML and Dockerfiles), marker lines left out.
//   Fix: edit the code, `npm run docs:sync`, commit both.
// - summaries: a `<!-- diff-summary: 02 03 -->` block equals `npm run diff -- 02 03 --summary`.
// - fragments: a ```ts/```yaml/```dockerfile block that is not included is at most
//   8 lines, or has `<!-- not-included: reason -->` on the line before (fragments.ts).
// - links: relative links lead to existing files, #anchors to existing headings.
// - mermaid: each chapter docs/NN-*.md has a ```mermaid flowchart whose
//   `subgraph compose` holds one node per service of stages/NN-*/compose.yaml,
//   with the service name as the node id (the full rule is at the top of mermaid.ts).
//
// - stages (stages.ts): each stage's README.md has a row per compose service that runs a
//   file of src/ (the service, its entry file, its files), and every file of src/ is in a row;
//   every `#region` in a stage is included by some doc.
//
// - the index (docs/README.md) gives each chapter the time its own "Time: about N minutes." line says.
// - outputs: every file of docs/output/ is included by some doc (the walk's stamps and
//   summary aside: a test reads those), so no recorded output lingers after its doc moved on.
//
// checks.test.ts shows each rule failing on small made-up docs.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lib/root.ts';
import { CHECKS, type CheckName } from './check.ts';
import { INCLUDE } from './includes.ts';
import { findDocs, formatProblem, readDoc } from './markdown.ts';
import { isChapter } from './mermaid.ts';
import { checkStageReadmes, checkUnusedRegions, stageNames } from './stages.ts';

const root = repoRoot;
const docs = findDocs(root);
const chapters = docs.filter(isChapter);

function expectNoProblems(name: CheckName, path: string): void {
  const problems = CHECKS[name](root, readDoc(root, path));
  if (problems.length > 0) throw new Error(problems.map(formatProblem).join('\n\n'));
}

test('there are docs to check', () => {
  expect(docs).toContain('docs/README.md');
});

describe.each(docs)('%s', (path) => {
  test('every listing equals the file or region it includes', () => expectNoProblems('includes', path));
  test('every diff summary equals `npm run diff -- FROM TO --summary`', () =>
    expectNoProblems('summaries', path));
  test('code that is not included is a short fragment or says why not', () =>
    expectNoProblems('fragments', path));
  test('every relative link leads to a file and heading that exist', () => expectNoProblems('links', path));
});

(chapters.length > 0 ? describe.each(chapters) : describe.skip.each([['none']]))('chapter %s', (path) => {
  test('its mermaid diagram draws the services of its compose.yaml', () => expectNoProblems('mermaid', path));
});

test("each stage's README.md names its programs as compose.yaml runs them, and every file of src/", () => {
  expect(stageNames(root)).toHaveLength(6);
  expect(checkStageReadmes(root).map(formatProblem)).toEqual([]);
});

test('every #region in the stages is included by some doc', () => {
  expect(checkUnusedRegions(root).map(formatProblem)).toEqual([]);
});

test('the index gives each chapter the time the chapter itself states', () => {
  const rows = readDoc(root, 'docs/README.md').lines.flatMap((line) => {
    const row = /^\|\s*\[[^\]]+\]\((\d\d-[^)]+\.md)\).*\|\s*(\d+) min\s*\|$/.exec(line);
    return row ? [{ chapter: `docs/${row[1]}`, minutes: Number(row[2]) }] : [];
  });
  expect(rows.length).toBeGreaterThanOrEqual(5);
  const mismatches = rows.flatMap(({ chapter, minutes }) => {
    if (!existsSync(join(root, chapter))) return []; // a missing chapter is the link test's failure
    const stated = readDoc(root, chapter)
      .lines.map((line) => /^Time: about (\d+) minutes/.exec(line)?.[1])
      .find(Boolean);
    return stated && Number(stated) !== minutes
      ? [`${chapter} says ${stated} minutes, the index ${minutes} min`]
      : [];
  });
  expect(mismatches).toEqual([]);
});

test('every recorded output in docs/output/ is included by some doc', () => {
  const included = new Set(
    docs.flatMap((path) =>
      readDoc(root, path).lines.flatMap((line) => {
        const target = INCLUDE.exec(line)?.[1];
        return target ? [target.split('#')[0]] : [];
      }),
    ),
  );
  const outputs = readdirSync(join(root, 'docs/output'), { recursive: true, encoding: 'utf8' })
    .map((file) => `docs/output/${file}`)
    .filter((path) => /\.txt$/.test(path) && path !== 'docs/output/walk/summary.txt');
  expect(outputs.length).toBeGreaterThan(50);
  expect(outputs.filter((path) => !included.has(path))).toEqual([]);
});
