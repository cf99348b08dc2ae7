// The shell sessions of a chapter: every ```console block, in the chapter's
// order, with the `<!-- walk: ... -->` marks written on the lines before it.
//
//   $ curl http://localhost:8080/      a command (`\` at the end continues it)
//   Hello World!                       its output, up to the next `$ `
//
// Marks (one per line, before the block or before its include marker):
//   <!-- walk: skip — why -->          not run (a browser, an editor...)
//   <!-- walk: exit N -->              the block's last command exits with N
//   <!-- walk: varies — why -->        run and recorded, but its output is not
//                                      compared in --check: it depends on timing
//                                      (which request met the killed replica)
//   <!-- walk: background until TEXT --> the block's last command keeps
//                                      running (a foreground `up`); the walk
//                                      goes on once its output shows TEXT
//                                      (or matches /REGEX/)
//   <!-- walk: ctrl-c -->              the block is what Ctrl-C of that
//                                      background command prints
//   <!-- walk: wait healthy -->        before the block, the walk waits until no
//                                      container of the folder's project is
//                                      still starting (an attendee takes that
//                                      long to open a second terminal)
//   <!-- walk: apply PATH -->          before the block, the walk writes the
//                                      code block just above this mark into
//                                      PATH (the edit the chapter asks for)
import { createHash } from 'node:crypto';

export interface Command {
  /** As written, continuation lines joined with newlines, without the `$ `. */
  readonly text: string;
  /** The output the chapter shows for it. */
  readonly output: string[];
}

export interface Block {
  /** 0-based line of the opening fence. */
  readonly open: number;
  /** 0-based line of the closing fence. */
  readonly close: number;
  /** The first line of the marks and include marker above the fence. */
  readonly top: number;
  readonly indent: string;
  /** Output shown before the first command (what a Ctrl-C block shows). */
  readonly leading: string[];
  readonly commands: Command[];
  readonly skip?: string;
  /** Why the output changes from run to run (check mode compares only exit statuses). */
  readonly varies?: string;
  readonly exit: number;
  readonly background?: string;
  readonly ctrlC: boolean;
  readonly waitHealthy: boolean;
  readonly apply?: { path: string; content: string[] };
  /** The file the block is included from, if it is already. */
  readonly include?: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})(.*)$/;
const MARK = /^\s*<!--\s*walk:\s*(.*?)\s*-->\s*$/;
const INCLUDE = /^\s*<!--\s*include:\s*(\S+?)\s*-->\s*$/;
const END = /^\s*<!--\s*\/include\s*-->\s*$/;

interface Fenced {
  open: number;
  close: number;
  indent: string;
  info: string;
  content: string[];
}

function fences(lines: readonly string[]): Fenced[] {
  const found: Fenced[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', marker = '', info = ''] = open;
    let close = i + 1;
    while (close < lines.length) {
      const end = FENCE.exec(lines[close] ?? '');
      if (end && end[2]?.[0] === marker[0] && (end[2]?.length ?? 0) >= marker.length && end[3]?.trim() === '')
        break;
      close++;
    }
    const content = lines
      .slice(i + 1, close)
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line));
    found.push({ open: i, close, indent, info: info.trim(), content });
    i = close;
  }
  return found;
}

export function parseChapter(lines: readonly string[]): Block[] {
  const all = fences(lines);
  const blocks: Block[] = [];
  for (const [index, fence] of all.entries()) {
    if (fence.info !== 'console') continue;
    // The lines above: blanks, an include marker, walk marks.
    let top = fence.open;
    let include: string | undefined;
    const marks: string[] = [];
    for (let i = fence.open - 1; i >= 0; i--) {
      const line = lines[i] ?? '';
      if (line.trim() === '') continue;
      const inc = INCLUDE.exec(line);
      const mark = MARK.exec(line);
      if (inc && include === undefined && marks.length === 0) include = inc[1];
      else if (mark) marks.unshift(mark[1] ?? '');
      else break;
      top = i;
    }
    const block: {
      -readonly [K in keyof Block]: Block[K];
    } = {
      open: fence.open,
      close: fence.close,
      top,
      indent: fence.indent,
      exit: 0,
      ctrlC: false,
      waitHealthy: false,
      ...parseSession(fence.content),
    };
    if (include !== undefined) block.include = include;
    for (const mark of marks) {
      const [word = '', ...rest] = mark.split(/\s+/);
      const arg = rest.join(' ');
      if (word === 'skip') block.skip = arg.replace(/^[—–-]+\s*/, '') || 'not said why';
      else if (word === 'varies') block.varies = arg.replace(/^[—–-]+\s*/, '') || 'not said why';
      else if (word === 'exit') block.exit = Number(arg);
      else if (word === 'background')
        block.background = arg.replace(/^until\s+/, '').replace(/^"(.*)"$/, '$1');
      else if (word === 'ctrl-c') block.ctrlC = true;
      else if (mark === 'wait healthy') block.waitHealthy = true;
      else if (word === 'apply') {
        const source = all[index - 1];
        if (!source) throw new Error(`line ${fence.open + 1}: "walk: apply" without a code block above it`);
        block.apply = { path: arg, content: source.content };
      } else throw new Error(`line ${fence.open + 1}: unknown mark "walk: ${mark}"`);
    }
    if (!Number.isInteger(block.exit)) throw new Error(`line ${fence.open + 1}: "walk: exit" wants a number`);
    blocks.push(block);
  }
  return blocks;
}

/** Commands and outputs of a console block's lines. */
export function parseSession(content: readonly string[]): { leading: string[]; commands: Command[] } {
  const leading: string[] = [];
  const commands: { text: string; output: string[] }[] = [];
  for (let i = 0; i < content.length; i++) {
    const line = content[i] ?? '';
    if (!line.startsWith('$ ')) {
      (commands.at(-1)?.output ?? leading).push(line);
      continue;
    }
    const parts = [line.slice(2)];
    while (parts.at(-1)?.endsWith('\\') && i + 1 < content.length) parts.push(content[++i] ?? '');
    commands.push({ text: parts.join('\n'), output: [] });
  }
  return { leading, commands };
}

/** A block's content as the chapter shows it. */
export function sessionLines(leading: readonly string[], commands: readonly Command[]): string[] {
  return [
    ...leading,
    ...commands.flatMap((c) => [...c.text.split('\n').map((l, i) => (i === 0 ? `$ ${l}` : l)), ...c.output]),
  ];
}

/**
 * What a chapter's recording depends on: the commands and marks of its
 * sessions, and every tracked file of its stage (path and content).
 */
export function chapterHash(
  blocks: readonly Block[],
  stageFiles: readonly { path: string; content: string }[],
): string {
  const hash = createHash('sha256');
  for (const block of blocks) {
    hash.update(
      JSON.stringify([
        block.skip,
        block.varies,
        block.exit,
        block.background,
        block.ctrlC,
        block.waitHealthy,
        block.apply,
        block.commands.map((c) => c.text),
      ]),
    );
  }
  for (const file of [...stageFiles].sort((a, b) => a.path.localeCompare(b.path)))
    hash.update(`\0${file.path}\0${file.content.replace(/\r\n/g, '\n')}`);
  return hash.digest('hex').slice(0, 16);
}

/**
 * The chapter with each walked block included from its recording: the marks,
 * `<!-- include: FILE -->`, the fence with the new lines, `<!-- /include -->`.
 */
export function rewriteChapter(
  lines: readonly string[],
  blocks: readonly Block[],
  recorded: ReadonlyMap<Block, { file: string; lines: string[] }>,
): string[] {
  const out = [...lines];
  for (const block of [...blocks].reverse()) {
    const rec = recorded.get(block);
    if (!rec) continue;
    let end = block.close;
    // An include's end marker follows the fence.
    for (let i = block.close + 1; i < out.length; i++) {
      if ((out[i] ?? '').trim() === '') continue;
      if (END.test(out[i] ?? '')) end = i;
      break;
    }
    const marks = lines.slice(block.top, block.open).filter((l) => MARK.test(l));
    const fence = FENCE.exec(lines[block.open] ?? '')?.[2] ?? '```';
    const ind = block.indent;
    out.splice(
      block.top,
      end - block.top + 1,
      ...[
        ...marks,
        `${ind}<!-- include: ${rec.file} -->`,
        `${ind}${fence}console`,
        ...rec.lines.map((l) => (l === '' ? '' : `${ind}${l}`)),
        `${ind}${fence}`,
        `${ind}<!-- /include -->`,
      ],
    );
  }
  return out;
}
