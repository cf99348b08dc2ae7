// The stages of the workshop (stages/NN-name) and what their compose.yaml
// declares, for the tools that take a stage on the command line (diff, reset),
// the docs checks and the doctor. Tests import this file, so no import.meta.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';

export interface Stage {
  /** The two digits: "02". */
  readonly number: string;
  /** The folder name: "02-compose". */
  readonly name: string;
  /** The absolute path of the folder. */
  readonly dir: string;
}

/** The repository's root: the nearest folder upwards with package.json and stages/. */
export function findRepoRoot(from: string = process.cwd()): string {
  if (existsSync(join(from, 'package.json')) && existsSync(join(from, 'stages'))) return from;
  const parent = dirname(from);
  if (parent === from) throw new Error('Run this from inside the workshop repository.');
  return findRepoRoot(parent);
}

/** Every stages/NN-name folder, in order. */
export function listStages(root: string): Stage[] {
  const stagesDir = join(root, 'stages');
  return readdirSync(stagesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^\d\d-[a-z0-9-]+$/.test(entry.name))
    .map((entry) => ({ number: entry.name.slice(0, 2), name: entry.name, dir: join(stagesDir, entry.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export class UnknownStageError extends Error {}

/**
 * The stage an attendee means: "02", "2", "02-compose", "compose" or
 * "stages/02-compose/" all name stages/02-compose.
 */
export function findStage(root: string, query: string): Stage {
  const stages = listStages(root);
  const wanted = query
    .trim()
    .replace(/\/+$/, '')
    .replace(/^(\.\/)?stages\//, '');
  const found = stages.find(
    (stage) =>
      stage.name === wanted ||
      (/^\d{1,2}$/.test(wanted) && stage.number === wanted.padStart(2, '0')) ||
      stage.name.slice(3) === wanted,
  );
  if (!found) {
    const known = stages.map((stage) => stage.name).join(', ') || 'none';
    throw new UnknownStageError(`There is no stage "${query}". The stages are: ${known}.`);
  }
  return found;
}

export interface PublishedPort {
  readonly service: string;
  /** The host port, with `${VAR:-8080}` read as its default. */
  readonly port: number;
  /** The variable that overrides it, e.g. WEB_PORT. */
  readonly variable?: string;
}

export interface ComposeSummary {
  readonly services: string[];
  /** The named volumes (the top-level `volumes:` keys). */
  readonly volumes: string[];
  readonly ports: PublishedPort[];
}

/** The services, named volumes and published host ports of a stage's compose.yaml. */
export function readCompose(stage: Stage): ComposeSummary {
  const file = join(stage.dir, 'compose.yaml');
  const doc = (parse(readFileSync(file, 'utf8')) ?? {}) as {
    services?: Record<string, { ports?: unknown[] } | null>;
    volumes?: Record<string, unknown>;
  };
  const services = doc.services ?? {};
  const ports: PublishedPort[] = [];
  for (const [service, definition] of Object.entries(services)) {
    for (const entry of definition?.ports ?? []) {
      const published = publishedPort(entry);
      if (published) ports.push({ service, ...published });
    }
  }
  return { services: Object.keys(services), volumes: Object.keys(doc.volumes ?? {}), ports };
}

/**
 * The host side of one `ports:` entry: "8080:8080", "127.0.0.1:8080:8080",
 * "${WEB_PORT:-8080}:8080/tcp" or the long form `{ published: 8080 }`.
 * A bare container port ("8080") publishes on a random host port: undefined.
 */
export function publishedPort(entry: unknown): { port: number; variable?: string } | undefined {
  let host: string;
  if (typeof entry === 'object' && entry !== null) {
    const published = (entry as { published?: unknown }).published;
    if (published === undefined) return undefined;
    host = String(published);
  } else {
    // Split on the colons that are not inside ${...}.
    const parts = String(entry)
      .replace(/\/\w+$/, '')
      .split(/:(?![^{]*\})/);
    if (parts.length < 2) return undefined;
    host = parts[parts.length - 2] ?? '';
  }
  const variable = /^\$\{(\w+)(?::?-([^}]*))?\}$/.exec(host.trim());
  const value = variable ? variable[2] : host;
  const port = Number.parseInt(value ?? '', 10);
  if (!Number.isInteger(port) || port <= 0) return undefined;
  return variable?.[1] ? { port, variable: variable[1] } : { port };
}
