// The doctor's verdicts from real command outputs (recorded on Linux with
// Docker 28 / Engine 20.10 and Compose 2.26; the Windows and macOS formats
// are those of netstat, tasklist and lsof), and its port probe on a real port.
import { createServer, type Server } from 'node:net';
import { readCompose } from '../lib/compose-file.ts';
import type { CommandResult } from '../lib/process.ts';
import { repoRoot } from '../lib/root.ts';
import { listStages } from '../lib/stages.ts';
import {
  archVerdict,
  closingLine,
  composeVerdict,
  diskVerdict,
  dockerEngineVerdict,
  formatVerdict,
  lineEndingsVerdict,
  MIN_FREE_BYTES,
  nodeVerdict,
  parseDockerPs,
  parseLsof,
  parseNetstat,
  parseSs,
  parseTasklist,
  parseVersion,
  portVerdict,
} from './checks.ts';
import { portHolders, portsToCheck, probePort } from './probe.ts';

const ok = (stdout: string): CommandResult => ({ code: 0, stdout, stderr: '' });
const failed = (stderr: string, code = 1): CommandResult => ({ code, stdout: '', stderr });

describe('Docker engine', () => {
  test('answers with its version', () => {
    expect(dockerEngineVerdict(ok('20.10.24+dfsg1, linux/amd64\n'), 'linux')).toEqual({
      ok: true,
      title: 'Docker engine answers (server 20.10.24+dfsg1, linux/amd64)',
    });
  });

  test('not running: says how to start it on this system', () => {
    const stderr =
      'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?';
    const linux = dockerEngineVerdict(failed(stderr), 'linux');
    expect(linux.ok).toBe(false);
    expect(linux.title).toBe('Docker engine is not running');
    expect(linux.fix).toContain('sudo systemctl start docker');
    expect(dockerEngineVerdict(failed(stderr), 'darwin').fix).toContain('start Docker Desktop');
    const windows =
      'error during connect: this error may indicate that the docker daemon is not running: Get ' +
      '"http://%2F%2F.%2Fpipe%2Fdocker_engine/v1.47/version": open //./pipe/docker_engine: The system cannot find the file specified.';
    expect(dockerEngineVerdict(failed(windows), 'win32').title).toBe('Docker engine is not running');
  });

  test('permission denied on the socket: the docker group', () => {
    const stderr =
      'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: ' +
      'Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.50/version": dial unix /var/run/docker.sock: connect: permission denied';
    expect(dockerEngineVerdict(failed(stderr), 'linux').fix).toContain('sudo usermod -aG docker $USER');
  });

  test('no docker command, or no answer', () => {
    expect(dockerEngineVerdict({ code: null, stdout: '', stderr: '', error: 'ENOENT' }, 'linux').title).toBe(
      'Docker is not installed (no `docker` command)',
    );
    expect(
      dockerEngineVerdict({ code: null, stdout: '', stderr: '', error: 'ETIMEDOUT' }, 'darwin').fix,
    ).toContain('still be starting');
  });
});

describe('Docker Compose', () => {
  test('reads the version however compose prints it', () => {
    expect(parseVersion('Docker Compose version 2.26.1-4')).toEqual([2, 26, 1]);
    expect(parseVersion('Docker Compose version v2.29.2-desktop.1')).toEqual([2, 29, 2]);
    expect(parseVersion('docker-compose version 1.29.2, build unknown')).toEqual([1, 29, 2]);
    expect(parseVersion('1.29.2\n')).toEqual([1, 29, 2]);
    expect(parseVersion('docker: unknown command: docker compose')).toBeUndefined();
  });

  test('v2 at the tested version or newer passes; older fails', () => {
    expect(composeVerdict(ok('Docker Compose version 2.26.1-4\n'))).toEqual({
      ok: true,
      title: 'Docker Compose v2 (2.26.1)',
    });
    expect(composeVerdict(ok('Docker Compose version v2.40.0')).ok).toBe(true);
    const old = composeVerdict(ok('Docker Compose version v2.17.3'));
    expect(old.ok).toBe(false);
    expect(old.title).toContain('older than 2.26.0');
  });

  test('only docker-compose v1: says what to install and to type `docker compose`', () => {
    const missing = failed(
      "docker: unknown command: docker compose\n\nRun 'docker --help' for more information",
    );
    const verdict = composeVerdict(missing, ok('1.29.2\n'));
    expect(verdict.ok).toBe(false);
    expect(verdict.title).toBe(
      'only the old Compose v1 (docker-compose 1.29.2) is installed; `docker compose` (v2) is missing',
    );
    expect(verdict.fix).toContain('docker-compose-plugin');
    expect(verdict.fix).toContain('Docker Desktop');
  });

  test('v2 as a standalone docker-compose, or none at all', () => {
    const missing = failed("docker: 'compose' is not a docker command.");
    expect(composeVerdict(missing, ok('2.27.0')).title).toContain('separate `docker-compose` (2.27.0)');
    expect(composeVerdict(missing, { code: null, stdout: '', stderr: '', error: 'ENOENT' }).title).toBe(
      'Docker Compose is missing (`docker compose version` failed)',
    );
  });
});

describe('ports', () => {
  test('who holds a port, from ss, lsof, netstat and tasklist', () => {
    const ss =
      'LISTEN 0      4096   0.0.0.0:48080 0.0.0.0:* users:(("docker-proxy",pid=11873,fd=4))\n' +
      'LISTEN 0      4096      [::]:48080    [::]:* users:(("docker-proxy",pid=11878,fd=4))\n';
    expect(parseSs(ss)).toEqual([
      { command: 'docker-proxy', pid: 11873 },
      { command: 'docker-proxy', pid: 11878 },
    ]);
    expect(parseSs('LISTEN 0      5      0.0.0.0:48081 0.0.0.0:*\n')).toEqual([]);
    const lsof =
      'COMMAND     PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n' +
      'python3 12590 root    3u  IPv4 107056      0t0  TCP *:48081 (LISTEN)\n' +
      'ControlCe  612 anna   9u  IPv4 0x5e1      0t0  TCP *:5000 (LISTEN)\n';
    expect(parseLsof(lsof)).toEqual([
      { command: 'python3', pid: 12590 },
      { command: 'ControlCe', pid: 612 },
    ]);
    const netstat = [
      '',
      'Active Connections',
      '',
      '  Proto  Local Address          Foreign Address        State           PID',
      '  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1024',
      '  TCP    0.0.0.0:8080           0.0.0.0:0              LISTENING       4242',
      '  TCP    127.0.0.1:18080        0.0.0.0:0              LISTENING       77',
      '  TCP    10.0.0.5:51000         93.184.216.34:443      ESTABLISHED     4242',
    ].join('\r\n');
    expect(parseNetstat(netstat, 8080)).toEqual([4242]);
    expect(parseTasklist('"node.exe","4242","Console","1","45,012 K"\r\n')).toBe('node.exe');
    expect(parseDockerPs('edoctor-web-1\tedoctor\t/work/main/stages/01-app\n')).toEqual([
      { container: 'edoctor-web-1', project: 'edoctor', dir: '/work/main/stages/01-app' },
    ]);
  });

  const web = { port: 8080, usedBy: 'web, stages 01, 02, 03', variable: 'WEB_PORT' };

  test('a busy port names its holder and how to move the stage', () => {
    const verdict = portVerdict(web, { state: 'busy', holders: [{ command: 'node', pid: 4242 }] }, 'linux');
    expect(formatVerdict(verdict)).toBe(
      '✗ port 8080 (web, stages 01, 02, 03) is busy: held by node (pid 4242)\n' +
        '    fix: stop that program, or give the stage another port: `WEB_PORT=8081 docker compose up`',
    );
    expect(portVerdict(web, { state: 'busy', holders: [] }, 'win32').fix).toContain('$env:WEB_PORT=8081');
  });

  test('a port published by a container of a stage left running: compose down', () => {
    const containers = [
      { container: '02-compose-web-1', project: '02-compose', dir: '/home/a/workshop/stages/02-compose' },
    ];
    const verdict = portVerdict(web, { state: 'busy', containers }, 'darwin');
    expect(verdict.title).toBe(
      'port 8080 (web, stages 01, 02, 03) is busy: container 02-compose-web-1 of compose project 02-compose ' +
        '(/home/a/workshop/stages/02-compose) publishes it',
    );
    expect(verdict.fix).toContain('`docker compose -p 02-compose down`');
  });

  test('AirPlay on macOS, and ports Windows reserves', () => {
    const airplay = portVerdict(
      { port: 5000, usedBy: 'x' },
      { state: 'busy', holders: [{ command: 'ControlCe', pid: 612 }] },
      'darwin',
    );
    expect(airplay.title).toContain('macOS AirPlay Receiver');
    expect(airplay.fix).toContain('AirPlay Receiver');
    expect(portVerdict(web, { state: 'forbidden' }, 'win32').fix).toContain('excludedportrange');
  });

  test('the probe finds a port that a process of ours holds, and who holds it', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      expect(await probePort(port)).toBe('busy');
      if (process.platform === 'linux' || process.platform === 'darwin') {
        // The command is whatever the process calls itself (node, or a worker thread's name).
        expect(portHolders(port, process.platform)).toContainEqual(
          expect.objectContaining({ pid: process.pid }),
        );
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await probePort(port)).toBe('free');
  });

  test('the ports come from the stages’ compose files; WEB_PORT moves them', () => {
    const root = repoRoot;
    const published = listStages(root).flatMap((stage) => readCompose(stage).ports.map((p) => p.port));
    const ports = portsToCheck(root, {}).map((use) => use.port);
    for (const port of published) expect(ports).toContain(port);
    expect(ports).toContain(8080);
    expect(ports).toContain(3000);
    const moved = portsToCheck(root, { WEB_PORT: '18080' }).map((use) => use.port);
    expect(moved).toContain(18080);
    expect(moved).not.toContain(8080);
  });
});

describe('machine', () => {
  test('architecture: Apple Silicon gets a note, a wrong Docker Desktop a fix', () => {
    expect(archVerdict('linux', 'x64', 'amd64')).toEqual({
      ok: true,
      title: 'architecture: amd64 (x86_64), Docker runs amd64 images',
    });
    const mac = archVerdict('darwin', 'arm64', 'arm64');
    expect(mac.ok).toBe(true);
    expect(mac.title).toBe('architecture: arm64 (Apple Silicon), Docker runs arm64 images');
    expect(mac.fix).toContain('platform: linux/amd64');
    expect(archVerdict('darwin', 'arm64', 'amd64').fix).toContain('Docker Desktop for Apple Silicon');
    expect(archVerdict('darwin', 'x64', 'arm64', true).title).toContain('under Rosetta');
    expect(archVerdict('linux', 's390x').ok).toBe(false);
  });

  test('disk: at least 5 GB free everywhere that matters', () => {
    const plenty = diskVerdict([{ label: 'the repository’s disk', free: 80 * 1024 ** 3 }], false);
    expect(plenty).toEqual({
      ok: true,
      title: 'disk: 80.0 GB free on the repository’s disk (the workshop needs 5.0 GB)',
    });
    const low = diskVerdict(
      [
        { label: 'the repository’s disk', free: 80 * 1024 ** 3 },
        { label: 'Docker’s /var/lib/docker', free: MIN_FREE_BYTES - 1 },
      ],
      false,
    );
    expect(low.ok).toBe(false);
    expect(low.fix).toContain('docker system prune');
  });

  test('Node: 24 passes (and names another node on the PATH); older says it is optional', () => {
    expect(nodeVerdict('v24.21.0', 'v20.20.2').title).toContain('outside npm scripts your `node` is 20.20.2');
    expect(nodeVerdict('v24.21.0', 'v24.21.0').title).not.toContain('outside');
    const old = nodeVerdict('v22.18.0');
    expect(old.ok).toBe(false);
    expect(old.fix).toContain('not needed if you only use Docker');
    expect(old.fix).toContain('npm ci');
  });

  test('line endings', () => {
    expect(lineEndingsVerdict([]).ok).toBe(true);
    const crlf = lineEndingsVerdict(['stages/01-app/Dockerfile']);
    expect(crlf.title).toBe('line endings: stages/01-app/Dockerfile has Windows (CRLF) line endings');
  });

  test('the closing line counts the verdicts', () => {
    expect(
      closingLine([
        { ok: true, title: 'a' },
        { ok: false, title: 'b' },
        { ok: true, title: 'c' },
      ]),
    ).toBe('2 passed, 1 failed');
  });
});
