// The doctor's checks as pure functions: each takes what a command printed
// (or what the system said) and returns a verdict with the fix. probe.ts runs
// the commands; the tests feed these functions real outputs.
import type { CommandResult } from '../lib/process.ts';

export interface Verdict {
  readonly ok: boolean;
  /** What was checked and what was found: "Docker engine answers (server 27.3.1, linux/arm64)". */
  readonly title: string;
  /** What to do about it (always given when !ok; sometimes a note when ok). */
  readonly fix?: string;
}

export type Platform = 'linux' | 'darwin' | 'win32' | string;

// ---------------------------------------------------------------- Docker engine

const START_DOCKER: Record<string, string> = {
  darwin: 'start Docker Desktop (Applications → Docker) and wait until its whale icon stops moving',
  win32: 'start Docker Desktop from the Start menu and wait until it says "Engine running"',
  linux: 'start the engine: `sudo systemctl start docker` (Docker Desktop for Linux: start Docker Desktop)',
};

const INSTALL_DOCKER =
  'install Docker: Docker Desktop on macOS and Windows, Docker Engine with the compose plugin on Linux ' +
  '(https://docs.docker.com/get-docker/), then run `npm run doctor` again';

export function dockerEngineVerdict(result: CommandResult, platform: Platform): Verdict {
  if (result.error === 'ENOENT') {
    return { ok: false, title: 'Docker is not installed (no `docker` command)', fix: INSTALL_DOCKER };
  }
  if (result.error === 'ETIMEDOUT') {
    return {
      ok: false,
      title: 'Docker engine does not answer (`docker version` got no reply within 15 s)',
      fix: `it may still be starting: wait a minute and try again; otherwise restart Docker (${START_DOCKER[platform] ?? START_DOCKER.linux})`,
    };
  }
  const version = result.stdout.trim();
  if (result.code === 0 && version) {
    return { ok: true, title: `Docker engine answers (server ${version})` };
  }
  const stderr = result.stderr.trim();
  if (/permission denied/i.test(stderr)) {
    return {
      ok: false,
      title: 'Docker engine refuses you: permission denied on its socket',
      fix:
        'add yourself to the docker group: `sudo usermod -aG docker $USER`, then log out and in again ' +
        '(or use Docker Desktop, which needs no group)',
    };
  }
  if (
    /cannot connect to the docker daemon|is the docker daemon running|error during connect|docker_engine/i.test(
      stderr,
    )
  ) {
    return {
      ok: false,
      title: 'Docker engine is not running',
      fix: START_DOCKER[platform] ?? START_DOCKER.linux ?? '',
    };
  }
  return {
    ok: false,
    title: `Docker engine does not answer: ${firstLine(stderr) || `docker version exited with ${result.code}`}`,
    fix: START_DOCKER[platform] ?? START_DOCKER.linux ?? '',
  };
}

// ---------------------------------------------------------------- Compose

/** The version in "Docker Compose version v2.26.1", "2.29.2-desktop.1" or "docker-compose version 1.29.2, build 5becea4c". */
export function parseVersion(text: string): [number, number, number] | undefined {
  const match = /(?:^|[\sv])(\d+)\.(\d+)\.(\d+)/.exec(` ${text.trim()}`);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export function atLeast(version: readonly number[], minimum: readonly number[]): boolean {
  for (let i = 0; i < minimum.length; i++) {
    const a = version[i] ?? 0;
    const b = minimum[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** The workshop's compose files are tested with this version; older 2.x may lack what they use. */
export const MIN_COMPOSE: [number, number, number] = [2, 26, 0];

const INSTALL_COMPOSE =
  'install Compose v2: it comes with Docker Desktop (update it: Docker menu → Check for updates); on Linux ' +
  "install the plugin from Docker's package repository: `sudo apt-get install docker-compose-plugin` " +
  '(https://docs.docker.com/compose/install/linux/)';

/**
 * `docker compose version` (v2, the plugin), and, when that fails,
 * `docker-compose version --short`, which is either the old v1 or a
 * standalone v2 binary.
 */
export function composeVerdict(plugin: CommandResult, standalone?: CommandResult): Verdict {
  const version = plugin.code === 0 ? parseVersion(plugin.stdout) : undefined;
  if (version) {
    const shown = version.join('.');
    if (version[0] >= 2 && atLeast(version, MIN_COMPOSE))
      return { ok: true, title: `Docker Compose v2 (${shown})` };
    return {
      ok: false,
      title: `Docker Compose ${shown} is older than ${MIN_COMPOSE.join('.')}, the version the workshop is tested with`,
      fix: INSTALL_COMPOSE,
    };
  }
  const old = standalone?.code === 0 ? parseVersion(standalone.stdout) : undefined;
  if (old && old[0] < 2) {
    return {
      ok: false,
      title: `only the old Compose v1 (docker-compose ${old.join('.')}) is installed; \`docker compose\` (v2) is missing`,
      fix:
        `Compose v1 is no longer maintained and names things differently (edoctor_web_1 instead of edoctor-web-1); ${INSTALL_COMPOSE}. ` +
        'Then type `docker compose` (with a space) as the docs do.',
    };
  }
  if (old) {
    return {
      ok: false,
      title: `Compose v2 is installed as the separate \`docker-compose\` (${old.join('.')}), not as \`docker compose\``,
      fix: `${INSTALL_COMPOSE}; or type \`docker-compose\` wherever the docs say \`docker compose\``,
    };
  }
  return {
    ok: false,
    title: 'Docker Compose is missing (`docker compose version` failed)',
    fix: INSTALL_COMPOSE,
  };
}

// ---------------------------------------------------------------- ports

/** Who holds a port: a process, and when Docker holds it, the container. */
export interface Holder {
  readonly command: string;
  readonly pid?: number;
}

/** `ss -ltnpH 'sport = :8080'` (Linux): users:(("node",pid=123,fd=20)). */
export function parseSs(output: string): Holder[] {
  const holders: Holder[] = [];
  for (const match of output.matchAll(/\("([^"]+)",pid=(\d+)/g)) {
    holders.push({ command: match[1] ?? '?', pid: Number(match[2]) });
  }
  return unique(holders);
}

/** `lsof -nP -iTCP:8080 -sTCP:LISTEN` (macOS, Linux): COMMAND PID USER ... */
export function parseLsof(output: string): Holder[] {
  const holders = output
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length > 2 && /^\d+$/.test(fields[1] ?? ''))
    .map((fields) => ({ command: fields[0] ?? '?', pid: Number(fields[1]) }));
  return unique(holders);
}

/** `netstat -ano -p tcp` (Windows): the PIDs listening on the port. */
export function parseNetstat(output: string, port: number): number[] {
  const pids = new Set<number>();
  for (const line of output.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] !== 'TCP' || !/LISTEN/i.test(fields[3] ?? '')) continue;
    if ((fields[1] ?? '').endsWith(`:${port}`)) pids.add(Number(fields[4]));
  }
  return [...pids];
}

/** `tasklist /FI "PID eq 123" /FO CSV /NH` (Windows): "node.exe","123",... */
export function parseTasklist(output: string): string | undefined {
  return /^"([^"]+)","\d+"/m.exec(output.trim())?.[1];
}

function unique(holders: Holder[]): Holder[] {
  const seen = new Map<string, Holder>();
  for (const holder of holders) seen.set(`${holder.command}/${holder.pid}`, holder);
  return [...seen.values()];
}

/** `docker ps --filter publish=8080 --format '{{.Names}}\t{{.Label "com.docker.compose.project"}}\t...working_dir'` */
export function parseDockerPs(output: string): { container: string; project?: string; dir?: string }[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [container = '', project, dir] = line.split('\t');
      return { container, ...(project ? { project } : {}), ...(dir ? { dir } : {}) };
    });
}

export interface PortUse {
  readonly port: number;
  /** "web of 01-app, 02-compose; proxy of 04-scale" */
  readonly usedBy: string;
  /** The variable that moves the port, e.g. WEB_PORT. */
  readonly variable?: string;
}

export interface PortState {
  readonly state: 'free' | 'busy' | 'forbidden';
  readonly holders?: Holder[];
  readonly containers?: ReturnType<typeof parseDockerPs>;
}

export function portVerdict(use: PortUse, found: PortState, platform: Platform): Verdict {
  const what = `port ${use.port} (${use.usedBy})`;
  if (found.state === 'free') return { ok: true, title: `${what} is free` };
  const move = use.variable
    ? `or give the stage another port: \`${use.variable}=${use.port + 1} docker compose up\`` +
      (platform === 'win32'
        ? ` (PowerShell: \`$env:${use.variable}=${use.port + 1}; docker compose up\`)`
        : '')
    : 'or stop the program that holds it';
  if (found.state === 'forbidden') {
    return {
      ok: false,
      title: `${what} may not be used: the system reserves it`,
      fix:
        platform === 'win32'
          ? `Windows (Hyper-V/WSL) reserves port ranges: see \`netsh interface ipv4 show excludedportrange protocol=tcp\`; ${move}`
          : move,
    };
  }
  const containers = found.containers ?? [];
  if (containers.length > 0) {
    const named = containers
      .map(
        (c) =>
          `container ${c.container}${c.project ? ` of compose project ${c.project}` : ''}${c.dir ? ` (${c.dir})` : ''}`,
      )
      .join(', ');
    const project = containers.find((c) => c.project);
    const stop = project
      ? `\`docker compose -p ${project.project} down\``
      : `\`docker stop ${containers[0]?.container}\``;
    return {
      ok: false,
      title: `${what} is busy: ${named} publishes it`,
      fix: `stop it with ${stop} (a stage you left running?), ${move}`,
    };
  }
  const holders = found.holders ?? [];
  const names = holders.map((h) => `${h.command}${h.pid ? ` (pid ${h.pid})` : ''}`).join(', ');
  const airplay = platform === 'darwin' && holders.some((h) => /^ControlCe|AirPlay/i.test(h.command));
  if (airplay) {
    return {
      ok: false,
      title: `${what} is busy: macOS AirPlay Receiver (ControlCenter) holds it`,
      fix: `turn it off in System Settings → General → AirDrop & Handoff → AirPlay Receiver, ${move}`,
    };
  }
  const look = {
    linux: `\`sudo ss -ltnp 'sport = :${use.port}'\``,
    darwin: `\`sudo lsof -nP -iTCP:${use.port} -sTCP:LISTEN\``,
    win32: `\`netstat -ano -p tcp | findstr :${use.port}\` (the last column is the PID; Task Manager shows it)`,
  }[platform as 'linux'];
  return {
    ok: false,
    title: `${what} is busy: ${names ? `held by ${names}` : 'held by a program this user cannot see'}`,
    fix: names ? `stop that program, ${move}` : `find it with ${look ?? 'lsof'}, stop it, ${move}`,
  };
}

// ---------------------------------------------------------------- machine

/** Node's os.arch() in Docker's words. */
export function dockerArch(nodeArch: string): string {
  return { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' }[nodeArch] ?? nodeArch;
}

export function archVerdict(
  platform: Platform,
  nodeArch: string,
  engineArch?: string,
  rosetta = false,
): Verdict {
  const arch = dockerArch(nodeArch);
  const appleSilicon = platform === 'darwin' && (arch === 'arm64' || rosetta);
  const name = appleSilicon ? 'arm64 (Apple Silicon)' : arch === 'amd64' ? 'amd64 (x86_64)' : arch;
  if (engineArch && appleSilicon && engineArch !== 'arm64') {
    return {
      ok: false,
      title: `architecture: ${name}, but Docker runs ${engineArch} images`,
      fix: 'you have Docker Desktop for Intel: install Docker Desktop for Apple Silicon instead',
    };
  }
  if (rosetta) {
    return {
      ok: false,
      title:
        'architecture: arm64 (Apple Silicon), but this Node is an Intel (x64) build running under Rosetta',
      fix: 'install the arm64 Node 24 (from nodejs.org or `nvm install 24` in a native terminal); Docker is not affected',
    };
  }
  if (arch !== 'amd64' && arch !== 'arm64') {
    return {
      ok: false,
      title: `architecture: ${arch}`,
      fix: 'the workshop is tested on amd64 and arm64 machines only; its images may not exist for this one',
    };
  }
  return {
    ok: true,
    title: `architecture: ${name}${engineArch ? `, Docker runs ${engineArch} images` : ''}`,
    ...(appleSilicon
      ? {
          fix:
            'note: node, redis and postgres images exist for arm64, nothing to do; an image that exists only ' +
            'for amd64 needs `platform: linux/amd64` in compose.yaml and runs slower (emulated)',
        }
      : {}),
  };
}

export const MIN_FREE_BYTES = 5 * 1024 ** 3;

export function formatBytes(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

/** Free space where the images and volumes go (Docker's data folder) and where the repository is. */
export function diskVerdict(places: { label: string; free: number }[], dockerDesktop: boolean): Verdict {
  const least = [...places].sort((a, b) => a.free - b.free)[0];
  if (!least)
    return { ok: false, title: 'disk: could not measure free space', fix: 'make sure 5 GB are free' };
  const where = places.map((p) => `${formatBytes(p.free)} free on ${p.label}`).join(', ');
  const desktop = dockerDesktop
    ? '; Docker Desktop keeps images in its own disk image: Settings → Resources'
    : '';
  if (least.free >= MIN_FREE_BYTES) {
    return { ok: true, title: `disk: ${where} (the workshop needs ${formatBytes(MIN_FREE_BYTES)})` };
  }
  return {
    ok: false,
    title: `disk: only ${where}; the images and volumes of the workshop need about ${formatBytes(MIN_FREE_BYTES)}`,
    fix: `free some space: \`docker system df\` shows what Docker uses, \`docker system prune\` removes stopped containers and unused images${desktop}`,
  };
}

export const NODE_MAJOR = 24;

/**
 * The Node that runs the doctor (npm scripts run the repository's own Node
 * 24, installed by `npm ci`), and the `node` on the PATH outside the repository.
 */
export function nodeVerdict(running: string, systemNode?: string): Verdict {
  const major = Number(/^v?(\d+)/.exec(running)?.[1]);
  const onlyDocker = 'not needed if you only use Docker: every stage runs in its container';
  if (major < NODE_MAJOR) {
    return {
      ok: false,
      title: `Node ${running.replace(/^v/, '')}: the tests and tools need Node ${NODE_MAJOR}`,
      fix: `run \`npm ci\` (it installs Node ${NODE_MAJOR} inside the repository) or install Node ${NODE_MAJOR} (\`nvm install\` reads .nvmrc); ${onlyDocker}`,
    };
  }
  const system =
    systemNode && systemNode !== running
      ? `; outside npm scripts your \`node\` is ${systemNode.replace(/^v/, '')} (use \`npx node\` or install Node ${NODE_MAJOR})`
      : '';
  return {
    ok: true,
    title: `Node ${running.replace(/^v/, '')} for the tests and tools (${onlyDocker})${system}`,
  };
}

/** Files of the stages that have Windows line endings (CRLF). */
export function lineEndingsVerdict(crlfFiles: string[]): Verdict {
  if (crlfFiles.length === 0)
    return { ok: true, title: 'line endings: the stage files have LF (Unix) line endings' };
  const shown =
    crlfFiles.slice(0, 3).join(', ') + (crlfFiles.length > 3 ? ` and ${crlfFiles.length - 3} more` : '');
  return {
    ok: false,
    title: `line endings: ${shown} ${crlfFiles.length === 1 ? 'has' : 'have'} Windows (CRLF) line endings`,
    fix:
      'convert them to LF in your editor (VS Code: click "CRLF" in the status bar, choose "LF"); a shell ' +
      'script with CRLF endings does not run in a Linux container. The repository itself asks git for LF ' +
      '(.gitattributes), so files that git checked out are fine',
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? '';
}

export function formatVerdict(verdict: Verdict): string {
  const mark = verdict.ok ? '✓' : '✗';
  return verdict.fix
    ? `${mark} ${verdict.title}\n    ${verdict.ok ? '' : 'fix: '}${verdict.fix}`
    : `${mark} ${verdict.title}`;
}

export function closingLine(verdicts: readonly Verdict[]): string {
  const passed = verdicts.filter((v) => v.ok).length;
  return `${passed} passed, ${verdicts.length - passed} failed`;
}
