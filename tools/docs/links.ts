// Relative links in the docs must lead somewhere: the file (or folder) must
// exist inside the repository, and a #anchor must be a heading of the target
// Markdown file (GitHub's anchor rules, see githubSlug) or, for any other
// file, a GitHub line anchor (#L12, #L12-L20) within the file's length.
// Links with a scheme (https:, mailto:) are not checked: the tests run offline.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import {
  anchorsOf,
  type Doc,
  fencedLines,
  type Problem,
  readDoc,
  splitLines,
  toRepoPath,
  withoutInlineCode,
} from './markdown.ts';

export interface Link {
  /** 0-based line index. */
  readonly line: number;
  readonly target: string;
}

const INLINE =
  /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^\s()]+(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g;
const REFERENCE = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/;
const HTML = /<(?:a|img)\s[^>]*\b(?:href|src)="([^"]+)"/g;

/** The links of a doc, outside code blocks and inline code. */
export function findLinks(doc: Doc): Link[] {
  const inside = fencedLines(doc.lines);
  const links: Link[] = [];
  doc.lines.forEach((raw, line) => {
    if (inside[line]) return;
    const text = withoutInlineCode(raw);
    const add = (target: string | undefined) => {
      if (target) links.push({ line, target: target.replace(/^<|>$/g, '') });
    };
    for (const match of text.matchAll(INLINE)) add(match[1]);
    for (const match of text.matchAll(HTML)) add(match[1]);
    add(REFERENCE.exec(text)?.[1]);
  });
  return links;
}

export function checkLinks(root: string, doc: Doc): Problem[] {
  const problems: Problem[] = [];
  for (const link of findLinks(doc)) {
    const message = brokenBecause(root, doc, link.target);
    if (message)
      problems.push({ doc: doc.path, line: link.line + 1, message: `link (${link.target}): ${message}` });
  }
  return problems;
}

function brokenBecause(root: string, doc: Doc, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined;
  const hash = target.indexOf('#');
  const pathPart = decode(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? undefined : decode(target.slice(hash + 1));
  if (pathPart === undefined || (hash >= 0 && anchor === undefined)) return 'has a broken %-escape';

  const docDir = dirname(join(root, doc.path));
  const absolute =
    pathPart === ''
      ? join(root, doc.path)
      : normalize(pathPart.startsWith('/') ? join(root, pathPart) : join(docDir, pathPart));
  const inRepo = relative(root, absolute);
  if (inRepo.startsWith('..')) return 'points outside the repository';
  if (!existsSync(absolute)) return `${toRepoPath(root, absolute)} does not exist`;
  if (anchor === undefined) return undefined;

  if (statSync(absolute).isDirectory()) return 'an #anchor on a folder';
  if (absolute.endsWith('.md')) {
    const anchors = anchorsOf(readDoc(root, toRepoPath(root, absolute)).lines);
    if (anchors.has(anchor)) return undefined;
    const near = [...anchors].filter((candidate) => candidate.includes(anchor) || anchor.includes(candidate));
    const hint = near.length ? ` (did you mean ${near.map((a) => `#${a}`).join(', ')}?)` : '';
    return `${toRepoPath(root, absolute)} has no heading with the anchor #${anchor}${hint}`;
  }
  const lines = /^L(\d+)(?:-L(\d+))?$/.exec(anchor);
  if (!lines) return `#${anchor} is not a line anchor (#L12 or #L12-L20) and the file is not Markdown`;
  const length = splitLines(readFileSync(absolute, 'utf8')).length;
  const last = Number(lines[2] ?? lines[1]);
  if (last > length) return `${toRepoPath(root, absolute)} has only ${length} lines`;
  return undefined;
}

/** undefined when the %-escapes are broken. */
function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
