// Listings in the docs are copies of real files, marked like this:
//
//   <!-- include: stages/03-db/src/app.ts#records -->
//   ```ts
//   ...the lines of region "records" of that file...
//   ```
//   <!-- /include -->
//
// PATH is relative to the repository root; without #region the whole file is
// the listing. checkIncludes() reports every listing that differs from its
// source; syncIncludes() rewrites the listings from their sources.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lineDiff } from './line-diff.ts';
import {
  type Doc,
  type Fence,
  fencedLines,
  findFences,
  type Problem,
  withoutInlineCode,
} from './markdown.ts';
import { extractListing, type Listing, SourceError } from './regions.ts';

export const INCLUDE = /^\s*<!--\s*include:\s*(\S+?)\s*-->\s*$/;
const END = /^\s*<!--\s*\/include\s*-->\s*$/;
/** Anything that looks like it was meant to be an include marker. */
const LOOKS_LIKE_INCLUDE = /<!--\s*\/?\s*include\b/;

export interface Include {
  /** 0-based index of the `<!-- include: ... -->` line. */
  readonly markerLine: number;
  /** 0-based index of the `<!-- /include -->` line. */
  readonly endLine: number;
  /** "stages/03-db/src/app.ts#records" as written. */
  readonly target: string;
  readonly file: string;
  readonly region?: string;
  readonly fence: Fence;
}

/** The include blocks of a doc, and the problems of the ones that are malformed. */
export function findIncludes(doc: Doc): { includes: Include[]; problems: Problem[] } {
  const includes: Include[] = [];
  const problems: Problem[] = [];
  const fences = findFences(doc.lines);
  const inside = fencedLines(doc.lines);
  const problem = (line: number, message: string) =>
    problems.push({ doc: doc.path, line: line + 1, message });
  const claimedEnds = new Set<number>();

  doc.lines.forEach((line, i) => {
    if (inside[i] || !LOOKS_LIKE_INCLUDE.test(withoutInlineCode(line))) return;
    if (END.test(line)) {
      if (!claimedEnds.has(i))
        problem(i, '`<!-- /include -->` without an `<!-- include: PATH -->` before it');
      return;
    }
    const marker = INCLUDE.exec(line);
    if (!marker) {
      problem(
        i,
        'malformed include marker; write `<!-- include: PATH -->` or `<!-- include: PATH#region -->`',
      );
      return;
    }
    const target = marker[1] ?? '';
    const fenceLine = nextNonBlank(doc.lines, i + 1);
    const fence = fences.find((candidate) => candidate.open === fenceLine);
    if (!fence) {
      problem(i, `the include of ${target} must be followed by a fenced code block (\`\`\`lang ... \`\`\`)`);
      return;
    }
    if (fence.close >= doc.lines.length) {
      problem(fence.open, `the code block of the include of ${target} is never closed`);
      return;
    }
    const endLine = nextNonBlank(doc.lines, fence.close + 1);
    if (endLine === undefined || !END.test(doc.lines[endLine] ?? '')) {
      problem(
        fence.close,
        `the code block of the include of ${target} must be followed by \`<!-- /include -->\``,
      );
      return;
    }
    claimedEnds.add(endLine);
    const hash = target.indexOf('#');
    const file = hash < 0 ? target : target.slice(0, hash);
    const region = hash < 0 ? undefined : target.slice(hash + 1);
    includes.push({
      markerLine: i,
      endLine,
      target,
      file,
      fence,
      ...(region === undefined ? {} : { region }),
    });
  });
  return { includes, problems };
}

function nextNonBlank(lines: readonly string[], from: number): number | undefined {
  for (let i = from; i < lines.length; i++) if ((lines[i] ?? '').trim() !== '') return i;
  return undefined;
}

/** The listing an include should show, read from its source now. */
export function readListing(root: string, include: Include): Listing {
  const path = join(root, include.file);
  if (include.file.startsWith('/') || include.file.includes('..')) {
    throw new SourceError(`include paths are relative to the repository root, without "..": ${include.file}`);
  }
  if (!existsSync(path) || !statSync(path).isFile()) throw new SourceError(`${include.file} does not exist`);
  return extractListing(readFileSync(path, 'utf8'), include.file, include.region);
}

/** Every include whose listing differs from its source, or whose source is missing. */
export function checkIncludes(root: string, doc: Doc): Problem[] {
  const { includes, problems } = findIncludes(doc);
  for (const include of includes) {
    const at = include.markerLine + 1;
    let listing: Listing;
    try {
      listing = readListing(root, include);
    } catch (err) {
      if (!(err instanceof SourceError)) throw err;
      problems.push({ doc: doc.path, line: at, message: `cannot include ${include.target}: ${err.message}` });
      continue;
    }
    const diff = lineDiff(include.fence.content, listing.lines);
    if (diff === undefined) continue;
    const where = include.region ? `${include.file} lines ${listing.from}-${listing.to}` : include.file;
    problems.push({
      doc: doc.path,
      line: at,
      message:
        `the listing of ${include.target} differs from its source (${where}); ` +
        `run \`npm run docs:sync\` to copy the source into the doc.\n` +
        `  (- what the doc shows, + what the source has)\n${indent(diff)}`,
    });
  }
  return problems.sort((a, b) => a.line - b.line);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/**
 * The doc's lines with every include's listing replaced by its source. The
 * fence keeps its language; it grows longer when the listing itself contains
 * a fence of the same length (a Markdown file, for instance).
 */
export function syncIncludes(
  root: string,
  doc: Doc,
): { lines: string[]; problems: Problem[]; changed: number } {
  const { includes, problems } = findIncludes(doc);
  const lines = [...doc.lines];
  let changed = 0;
  // From the last include to the first, so earlier line numbers stay right.
  for (const include of [...includes].reverse()) {
    let listing: Listing;
    try {
      listing = readListing(root, include);
    } catch (err) {
      if (!(err instanceof SourceError)) throw err;
      problems.push({
        doc: doc.path,
        line: include.markerLine + 1,
        message: `cannot include ${include.target}: ${err.message}`,
      });
      continue;
    }
    const { fence } = include;
    const marker = fenceMarkerFor(fence.marker, listing.lines);
    const info = (lines[fence.open] ?? '').trimStart().slice(fence.marker.length);
    const block = [
      `${fence.indent}${marker}${info}`,
      ...listing.lines.map((line) => (line === '' ? '' : `${fence.indent}${line}`)),
      `${fence.indent}${marker}`,
    ];
    const before = lines.slice(fence.open, fence.close + 1);
    if (before.join('\n') !== block.join('\n')) changed++;
    lines.splice(fence.open, fence.close - fence.open + 1, ...block);
  }
  return { lines, problems, changed };
}

function fenceMarkerFor(current: string, content: readonly string[]): string {
  const char = current[0] === '~' ? '~' : '`';
  let longest = 0;
  for (const line of content) {
    const run = new RegExp(`^\\s*(\\${char}{3,})`).exec(line);
    if (run?.[1]) longest = Math.max(longest, run[1].length);
  }
  return char.repeat(Math.max(current.length, 3, longest + 1));
}
