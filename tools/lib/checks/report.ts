// What `npm run check` prints: one line per check, what a failed check saw and
// where to look, and a last line `N passed, N failed`.
import type { CheckResult } from './run.ts';

const INDENT = '    ';
const WIDTH = 100;

export function formatResult(result: CheckResult): string {
  if (result.status === 'skipped') return `- ${result.name} (skipped: ${result.message})`;
  const line = `${result.status === 'passed' ? '✓' : '✗'} ${result.name} (${result.ms} ms)`;
  if (result.status === 'passed') return result.note ? `${line}\n${wrap(result.note, INDENT)}` : line;
  const seen = wrap(result.message ?? '', INDENT);
  const hint = wrap(result.hint ?? '', `${INDENT}  `).replace(`${INDENT}  `, `${INDENT}→ `);
  return [line, seen, hint].join('\n');
}

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

export function count(results: readonly CheckResult[]): Counts {
  const of = (status: CheckResult['status']) => results.filter((r) => r.status === status).length;
  return { passed: of('passed'), failed: of('failed'), skipped: of('skipped') };
}

export function formatSummary(results: readonly CheckResult[]): string {
  const { passed, failed } = count(results);
  return `${passed} passed, ${failed} failed`;
}

/**
 * Word-wraps indented text to WIDTH columns, keeping its own line breaks and
 * never breaking inside a `command` (an attendee copies those).
 */
function wrap(text: string, indent: string): string {
  const width = WIDTH - indent.length;
  const lines = text.split('\n').flatMap((paragraph) => {
    const out: string[] = [];
    let line = '';
    for (const word of paragraph.match(/`[^`]*`\S*|\S+/g) ?? []) {
      if (line && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    out.push(line);
    return out;
  });
  return lines.map((line) => indent + line).join('\n');
}
