// Named regions of a source file, the parts of a file that a doc can include:
//
//   // #region records          (TypeScript; `# #region x` in YAML and Dockerfiles,
//   ...the listing...             `-- #region x` in SQL, `<!-- #region x -->` in HTML/Markdown)
//   // #endregion records
//
// Regions may nest. Marker lines are never part of a listing: neither the
// region's own markers nor those of other regions inside it, nor (when a whole
// file is included) any marker at all.
import { splitLines } from './markdown.ts';

const MARKER = /^\s*(?:\/\/|#|--|<!--|\/\*)\s*#(region|endregion)\b(.*?)\s*(?:-->|\*\/)?\s*$/;

export class SourceError extends Error {}

interface Region {
  readonly name: string;
  /** 0-based index of the `#region` line. */
  readonly start: number;
  /** 0-based index of the `#endregion` line. */
  readonly end: number;
}

export interface Listing {
  readonly lines: string[];
  /** The 1-based line numbers of the source that the listing spans, for messages. */
  readonly from: number;
  readonly to: number;
}

function isMarker(line: string): boolean {
  return MARKER.test(line);
}

/** Every region of a file; throws SourceError when the markers do not pair up. */
export function findRegions(lines: readonly string[], source: string): Region[] {
  const open = new Map<string, number>();
  const regions: Region[] = [];
  lines.forEach((line, i) => {
    const marker = MARKER.exec(line);
    if (!marker) return;
    const [, kind, rest = ''] = marker;
    const name = rest.trim();
    if (!/^[\w.-]+$/.test(name)) {
      throw new SourceError(`${source}:${i + 1}: a #${kind} marker needs a name (letters, digits, - _ .)`);
    }
    if (kind === 'region') {
      const earlier = open.get(name) ?? regions.find((region) => region.name === name)?.start;
      if (earlier !== undefined) {
        throw new SourceError(
          `${source}:${i + 1}: region "${name}" is opened again (first at line ${earlier + 1})`,
        );
      }
      open.set(name, i);
    } else {
      const start = open.get(name);
      if (start === undefined) {
        throw new SourceError(`${source}:${i + 1}: #endregion ${name} has no #region ${name} before it`);
      }
      open.delete(name);
      regions.push({ name, start, end: i });
    }
  });
  for (const [name, start] of open) {
    throw new SourceError(`${source}:${start + 1}: region "${name}" is never closed with #endregion ${name}`);
  }
  return regions;
}

/** The listing of a whole file (region undefined) or of one named region. */
export function extractListing(text: string, source: string, region?: string): Listing {
  const lines = splitLines(text);
  const regions = findRegions(lines, source);
  if (region === undefined) {
    return { lines: lines.filter((line) => !isMarker(line)), from: 1, to: lines.length };
  }
  const found = regions.find((candidate) => candidate.name === region);
  if (!found) {
    const names = regions.map((candidate) => candidate.name).sort();
    const known = names.length ? `its regions are: ${names.join(', ')}` : 'it has no regions';
    throw new SourceError(`${source} has no region "${region}" (${known})`);
  }
  return {
    lines: lines.slice(found.start + 1, found.end).filter((line) => !isMarker(line)),
    from: found.start + 2,
    to: found.end,
  };
}
