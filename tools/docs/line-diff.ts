// A short unified-style diff between a doc's listing and its source, so that a
// failing docs test shows which lines differ instead of two walls of text.

type Op = { kind: ' ' | '-' | '+'; text: string; docLine: number; sourceLine: number };

/** Longest common subsequence table, built backwards (listings are small). */
function diffOps(doc: readonly string[], source: readonly string[]): Op[] {
  const rows = doc.length;
  const cols = source.length;
  const table: number[][] = Array.from({ length: rows + 1 }, () => new Array<number>(cols + 1).fill(0));
  for (let i = rows - 1; i >= 0; i--) {
    for (let j = cols - 1; j >= 0; j--) {
      const row = table[i] as number[];
      row[j] =
        doc[i] === source[j]
          ? (table[i + 1]?.[j + 1] ?? 0) + 1
          : Math.max(table[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < rows || j < cols) {
    if (i < rows && j < cols && doc[i] === source[j]) {
      ops.push({ kind: ' ', text: doc[i] ?? '', docLine: i, sourceLine: j });
      i++;
      j++;
    } else if (j < cols && (i >= rows || (table[i]?.[j + 1] ?? 0) > (table[i + 1]?.[j] ?? 0))) {
      ops.push({ kind: '+', text: source[j] ?? '', docLine: i, sourceLine: j });
      j++;
    } else {
      ops.push({ kind: '-', text: doc[i] ?? '', docLine: i, sourceLine: j });
      i++;
    }
  }
  return ops;
}

/**
 * "- doc" / "+ source" lines around each difference, with one line of
 * context, at most `limit` lines; `undefined` when both are equal.
 */
export function lineDiff(doc: readonly string[], source: readonly string[], limit = 16): string | undefined {
  const ops = diffOps(doc, source);
  if (ops.every((op) => op.kind === ' ')) return undefined;
  const shown = new Set<number>();
  ops.forEach((op, k) => {
    if (op.kind === ' ') return;
    for (let c = Math.max(0, k - 1); c <= Math.min(ops.length - 1, k + 1); c++) shown.add(c);
  });
  const out: string[] = [];
  let previous = -2;
  for (const k of [...shown].sort((a, b) => a - b)) {
    const op = ops[k] as Op;
    if (k !== previous + 1) out.push(`@@ listing line ${op.docLine + 1} @@`);
    out.push(`${op.kind} ${op.text}`);
    previous = k;
  }
  if (out.length > limit)
    return [...out.slice(0, limit), `... (${out.length - limit} more lines)`].join('\n');
  return out.join('\n');
}
