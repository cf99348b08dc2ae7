// Just enough Markdown for the docs checks: which files are docs, where the
// fenced code blocks are (a marker or link inside a fence is an example, not
// the real thing), and the anchors GitHub gives to headings.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface Doc {
  /** Relative to the repository root, with forward slashes: "docs/03-db.md". */
  readonly path: string;
  readonly lines: string[];
}

/** A problem found in a doc, pointing at a line (1-based). */
export interface Problem {
  readonly doc: string;
  readonly line: number;
  readonly message: string;
}

export function formatProblem(problem: Problem): string {
  return `${problem.doc}:${problem.line}: ${problem.message}`;
}

/** Every docs/**\/*.md and the root README.md. */
export function findDocs(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) found.push(toRepoPath(root, path));
    }
  };
  if (existsSync(join(root, 'docs'))) walk(join(root, 'docs'));
  if (existsSync(join(root, 'README.md'))) found.push('README.md');
  return found.sort();
}

export function readDoc(root: string, path: string): Doc {
  return { path, lines: splitLines(readFileSync(join(root, path), 'utf8')) };
}

/** The lines of a text, without the newline at the end of the last one; CRLF read as LF. */
export function splitLines(text: string): string[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** A line without its inline code spans: `<!-- include: x -->` in backticks is an example, not a marker. */
export function withoutInlineCode(line: string): string {
  return line.replace(/(`+)(?!`).*?(?<!`)\1(?!`)/g, '');
}

export function toRepoPath(root: string, path: string): string {
  return relative(root, path).split('\\').join('/');
}

export interface Fence {
  /** Index (0-based) of the opening line ```lang. */
  readonly open: number;
  /** Index of the closing line; lines.length when the fence is never closed. */
  readonly close: number;
  /** The backticks or tildes of the opening line: "```". */
  readonly marker: string;
  /** The first word after the marker, lower case: "ts", "yaml", "" when none. */
  readonly lang: string;
  /** The leading spaces of the opening line (a fence inside a list item). */
  readonly indent: string;
  /** The lines between the fences, with the fence's indentation removed. */
  readonly content: string[];
}

const FENCE_OPEN = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;

/** The fenced code blocks of a doc, in order (CommonMark rules, any indentation). */
export function findFences(lines: readonly string[]): Fence[] {
  const fences: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE_OPEN.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', marker = '', info = ''] = open;
    const closing = new RegExp(`^\\s*${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`);
    let close = i + 1;
    while (close < lines.length && !closing.test(lines[close] ?? '')) close++;
    const content = lines.slice(i + 1, close).map((line) => dedent(line, indent.length));
    fences.push({ open: i, close, marker, lang: info.toLowerCase(), indent, content });
    i = close;
  }
  return fences;
}

function dedent(line: string, width: number): string {
  let cut = 0;
  while (cut < width && line[cut] === ' ') cut++;
  return line.slice(cut);
}

/** For each line: is it part of a fenced block (fence lines included)? */
export function fencedLines(lines: readonly string[]): boolean[] {
  const inside = lines.map(() => false);
  for (const fence of findFences(lines)) {
    for (let i = fence.open; i <= Math.min(fence.close, lines.length - 1); i++) inside[i] = true;
  }
  return inside;
}

/**
 * The anchors of a doc's headings as GitHub makes them: the heading's text in
 * lower case, without punctuation, spaces turned into hyphens; a repeated
 * heading gets -1, -2... Explicit `<a id="x">` / `<a name="x">` count too.
 */
export function anchorsOf(lines: readonly string[]): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const inside = fencedLines(lines);
  lines.forEach((line, i) => {
    if (inside[i]) return;
    for (const match of line.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(match[1] ?? '');
    const text = headingText(line, lines[i + 1], inside[i + 1] ?? false);
    if (text === undefined) return;
    const base = githubSlug(text);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  });
  return anchors;
}

function headingText(line: string, next: string | undefined, nextFenced: boolean): string | undefined {
  const atx = /^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$/.exec(line);
  if (atx) return atx[1] ?? '';
  // Setext: a line of text underlined with === or ---.
  if (next !== undefined && !nextFenced && /^ {0,3}(=+|-+)\s*$/.test(next) && line.trim() !== '') {
    if (/^ {0,3}([-*+]\s|\d+[.)]\s|>|<)/.test(line)) return undefined;
    return line.trim();
  }
  return undefined;
}

/** GitHub's anchor for a heading's Markdown text. */
export function githubSlug(markdown: string): string {
  const text = markdown
    .split(/(`+[^`]*`+)/)
    .map((part, i) => {
      if (i % 2 === 1) return part.replace(/^`+|`+$/g, '');
      return part
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
        .replace(/<[^>]+>/g, '')
        .replace(/&amp;/g, '&')
        .replace(/\*+/g, '')
        .replace(/(?<![\p{L}\p{N}])_+|_+(?![\p{L}\p{N}])/gu, '');
    })
    .join('');
  return text
    .toLowerCase()
    .trim()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}
