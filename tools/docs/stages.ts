// Checks that look at the stages as a whole rather than at one doc:
// - every stage's README.md names its programs the way its compose.yaml runs
//   them (service -> the entry file its command runs), and lists every file
//   of src/ once, each of which exists;
// - every `#region` in a stage is included by some doc: a region that no
//   chapter shows is a marker an attendee reads for nothing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { findIncludes } from './includes.ts';
import { findDocs, type Problem, readDoc } from './markdown.ts';
import { findRegions } from './regions.ts';

/** The stage folders, "01-app" to "06-cluster". */
export function stageNames(root: string): string[] {
  if (!existsSync(join(root, 'stages'))) return [];
  return readdirSync(join(root, 'stages'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^\d\d-/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

/** Every file under `dir` (recursively), relative to `base`. */
function filesUnder(base: string, dir: string): string[] {
  if (!existsSync(join(base, dir))) return [];
  return readdirSync(join(base, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    return entry.isDirectory() ? filesUnder(base, path) : [path];
  });
}

/** service -> the src/ file its command runs (the Dockerfile's CMD when it has none). */
export function composeEntries(stageDir: string): Map<string, string> {
  const compose = parse(readFileSync(join(stageDir, 'compose.yaml'), 'utf8')) as {
    services: Record<string, { command?: string | string[] }>;
  };
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(readFileSync(join(stageDir, 'Dockerfile'), 'utf8'))?.[1];
  const fallback: string[] = cmd ? JSON.parse(cmd) : [];
  const entries = new Map<string, string>();
  for (const [name, service] of Object.entries(compose.services)) {
    const command = service.command ?? ('image' in service && !('build' in service) ? [] : fallback);
    const words = typeof command === 'string' ? command.split(/\s+/) : command;
    const entry = words[0] === 'node' ? words.find((word) => /^src\/.+\.ts$/.test(word)) : undefined;
    if (entry) entries.set(name, entry);
  }
  return entries;
}

interface ReadmeRow {
  line: number;
  service?: string;
  entry?: string;
  files: string[];
}

/** The rows of the README's program table: | Program | Compose service | Entry file | Its files |. */
export function readmeRows(text: string): ReadmeRow[] {
  const rows: ReadmeRow[] = [];
  text.split('\n').forEach((line, i) => {
    const cells = line.split('|').slice(1, -1);
    if (cells.length !== 4 || /^\s*(-+|Program)\s*$/.test(cells[0] ?? '')) return;
    const code = (cell = '') => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);
    rows.push({ line: i + 1, service: code(cells[1])[0], entry: code(cells[2])[0], files: code(cells[3]) });
  });
  return rows;
}

export function checkStageReadmes(root: string): Problem[] {
  const problems: Problem[] = [];
  for (const stage of stageNames(root)) {
    const dir = join(root, 'stages', stage);
    const doc = `stages/${stage}/README.md`;
    const problem = (line: number, message: string) => problems.push({ doc, line, message });
    if (!existsSync(join(dir, 'README.md'))) {
      problem(1, 'missing: a table of the stage programs (program, compose service, entry file, its files)');
      continue;
    }
    const rows = readmeRows(readFileSync(join(dir, 'README.md'), 'utf8'));
    const entries = composeEntries(dir);
    for (const [service, entry] of entries) {
      const row = rows.find((r) => r.service === service);
      if (!row) problem(1, `compose service ${service} (node ${entry}) has no row`);
      else if (row.entry !== entry)
        problem(row.line, `${service} runs ${entry}, not ${row.entry ?? 'nothing'}`);
    }
    const listed = new Map<string, number>();
    for (const row of rows) {
      if (row.service && !entries.has(row.service)) {
        problem(row.line, `${row.service} is not a compose service that runs a file of src/`);
      }
      for (const file of [...(row.entry ? [row.entry] : []), ...row.files]) {
        if (listed.has(file)) problem(row.line, `${file} is listed twice`);
        listed.set(file, row.line);
        if (!existsSync(join(dir, file))) problem(row.line, `${file} does not exist`);
      }
    }
    for (const file of filesUnder(dir, 'src')) {
      if (!listed.has(file))
        problem(1, `${file} is in no row: say which program it belongs to (or "shared")`);
    }
  }
  return problems;
}

/** Regions of stage files that no doc includes. */
export function checkUnusedRegions(root: string): Problem[] {
  const included = new Set<string>();
  for (const path of findDocs(root)) {
    for (const include of findIncludes(readDoc(root, path)).includes) {
      if (include.region) included.add(`${include.file}#${include.region}`);
    }
  }
  const problems: Problem[] = [];
  for (const stage of stageNames(root)) {
    for (const file of filesUnder(join(root, 'stages', stage), '.').map((f) => f.slice(2))) {
      if (file.startsWith('node_modules/') || /package-lock\.json$/.test(file)) continue;
      const path = `stages/${stage}/${file}`;
      const lines = readFileSync(join(root, path), 'utf8').split(/\r?\n/);
      if (!lines.some((line) => line.includes('#region'))) continue;
      for (const region of findRegions(lines, path)) {
        if (included.has(`${path}#${region.name}`)) continue;
        problems.push({
          doc: path,
          line: region.start + 1,
          message: `region "${region.name}" is included by no doc: include it, or remove its markers`,
        });
      }
    }
  }
  return problems;
}
