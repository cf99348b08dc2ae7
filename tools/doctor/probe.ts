// What the doctor asks the machine: commands (each with a deadline), ports,
// free space, files. checks.ts turns the answers into verdicts.
import { existsSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { readCompose } from '../lib/compose-file.ts';
import { runCommandSync } from '../lib/process.ts';
import { listStages } from '../lib/stages.ts';
import {
  type Holder,
  type PortState,
  type PortUse,
  parseDockerPs,
  parseLsof,
  parseNetstat,
  parseSs,
  parseTasklist,
} from './checks.ts';

/**
 * The host ports the stages publish (read from each compose.yaml, so a new
 * stage is checked without changing the doctor; WEB_PORT and friends move
 * them as they move them for compose), and those the workshop plans even
 * when their stage is not there yet.
 */
export function portsToCheck(root: string, env: NodeJS.ProcessEnv = process.env): PortUse[] {
  const uses = new Map<number, { services: Map<string, string[]>; variable?: string }>();
  const add = (port: number, service: string, stage: string, variable?: string) => {
    const use = uses.get(port) ?? { services: new Map<string, string[]>() };
    use.services.set(service, [...(use.services.get(service) ?? []), stage]);
    if (variable) use.variable = variable;
    uses.set(port, use);
  };
  const stages = listStages(root);
  const defaults = new Set<number>();
  for (const stage of stages) {
    let published: ReturnType<typeof readCompose>['ports'];
    try {
      published = readCompose(stage).ports;
    } catch {
      continue; // a stage without a (valid) compose.yaml publishes nothing we can check
    }
    for (const { port, service, variable } of published) {
      defaults.add(port);
      // WEB_PORT=8081 in the environment moves the port, as compose would.
      const moved = variable ? Number.parseInt(env[variable] ?? '', 10) : Number.NaN;
      add(Number.isInteger(moved) && moved > 0 ? moved : port, service, stage.name.slice(0, 2), variable);
    }
  }
  // Stage 05 publishes its queue dashboard on 3000: check it even before its compose.yaml does.
  if (!defaults.has(3000)) add(3000, 'queue dashboard', '05');
  return [...uses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, use]) => ({
      port,
      usedBy: [...use.services.entries()]
        .map(
          ([service, numbers]) => `${service}, stage${numbers.length > 1 ? 's' : ''} ${numbers.join(', ')}`,
        )
        .join('; '),
      ...(use.variable ? { variable: use.variable } : {}),
    }));
}

/** Can we listen on the port, on all interfaces and on loopback, as Docker would? */
export async function probePort(port: number): Promise<PortState['state']> {
  for (const host of ['0.0.0.0', '127.0.0.1']) {
    const outcome = await new Promise<string | undefined>((resolve) => {
      const server = createServer();
      server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
    });
    if (outcome === 'EACCES') return 'forbidden';
    if (outcome) return 'busy';
  }
  return 'free';
}

/** Which processes listen on the port (best effort: may need more rights than we have). */
export function portHolders(port: number, platform: string): Holder[] {
  if (platform === 'win32') {
    const pids = parseNetstat(runCommandSync('netstat', ['-ano', '-p', 'tcp']).stdout, port);
    return pids.map((pid) => ({
      command:
        parseTasklist(runCommandSync('tasklist', ['/FI', `PID eq ${pid}`, '/FO', 'CSV', '/NH']).stdout) ??
        '?',
      pid,
    }));
  }
  if (platform === 'linux') {
    const ss = runCommandSync('ss', ['-ltnpH', `sport = :${port}`]);
    if (!ss.error) return parseSs(ss.stdout);
  }
  return parseLsof(runCommandSync('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN']).stdout);
}

/** The running containers that publish the port. */
export function containersOn(port: number): ReturnType<typeof parseDockerPs> {
  const format =
    '{{.Names}}\t{{.Label "com.docker.compose.project"}}\t{{.Label "com.docker.compose.project.working_dir"}}';
  const ps = runCommandSync('docker', ['ps', '--filter', `publish=${port}`, '--format', format], 10_000);
  return ps.code === 0 ? parseDockerPs(ps.stdout) : [];
}

export function freeBytes(path: string): number | undefined {
  try {
    const stats = statfsSync(path);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

/** The version of the first `node` on the PATH outside node_modules/.bin (npm scripts put the repository's first). */
export function systemNodeVersion(platform: string): string | undefined {
  const names = platform === 'win32' ? ['node.exe'] : ['node'];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || /node_modules[\\/]\.bin/.test(dir) || /node-gyp-bin/.test(dir)) continue;
    for (const name of names) {
      const path = join(dir, name);
      if (!existsSync(path)) continue;
      const version = runCommandSync(path, ['--version'], 5_000);
      return version.code === 0 ? version.stdout.trim() : undefined;
    }
  }
  return undefined;
}

const TEXT_FILE = /(\.(ts|js|json|ya?ml|sh|sql|env|md)|Dockerfile|\.dockerignore)$/;

/** Stage files (outside node_modules) with CRLF line endings. */
export function crlfFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, shown: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      const path = join(dir, entry.name);
      const label = `${shown}/${entry.name}`;
      if (entry.isDirectory()) walk(path, label);
      else if (TEXT_FILE.test(entry.name) && readFileSync(path).includes('\r\n')) found.push(label);
    }
  };
  for (const stage of listStages(root)) walk(stage.dir, `stages/${stage.name}`);
  return found;
}
