// What a stage's compose.yaml declares: its services, named volumes and the
// host ports it publishes (the doctor checks them, verify moves them).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Stage } from './stages.ts';

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
export function readCompose(stage: Pick<Stage, 'dir'>): ComposeSummary {
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
