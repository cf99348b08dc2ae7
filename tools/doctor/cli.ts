// `npm run doctor`: is this machine ready for the workshop? One line per
// check, ✓ or ✗ with the fix, then "N passed, N failed"; exit 1 if any failed.
import { arch, platform } from 'node:os';
import { parseOrExit, readCommandLine } from '../lib/cli.ts';
import { runCommandSync } from '../lib/process.ts';
import { repoRoot } from '../lib/root.ts';
import {
  archVerdict,
  closingLine,
  composeVerdict,
  diskVerdict,
  dockerEngineVerdict,
  formatVerdict,
  lineEndingsVerdict,
  nodeVerdict,
  portVerdict,
  type Verdict,
} from './checks.ts';
import {
  containersOn,
  crlfFiles,
  freeBytes,
  portHolders,
  portsToCheck,
  probePort,
  systemNodeVersion,
} from './probe.ts';

const USAGE = `Usage: npm run doctor

Is this machine ready for the workshop? Checks Docker and compose, the ports the
stages publish, the architecture, free disk, Node and line endings: one line per
check, with the fix when it fails. Exit code 0 when every check passed, 1 if not.`;
parseOrExit(() => ({ help: Boolean(readCommandLine(process.argv.slice(2), {}).values.help) }), USAGE);

const root = repoRoot;
const os = platform();
const verdicts: Verdict[] = [];
const report = (verdict: Verdict) => {
  verdicts.push(verdict);
  console.log(formatVerdict(verdict));
};

console.log('Workshop preflight: is this machine ready?\n');

// Docker engine, then compose.
const engine = runCommandSync('docker', [
  'version',
  '--format',
  '{{.Server.Version}}, {{.Server.Os}}/{{.Server.Arch}}',
]);
const engineVerdict = dockerEngineVerdict(engine, os);
report(engineVerdict);
const dockerInstalled = engine.error !== 'ENOENT';
const plugin = dockerInstalled
  ? runCommandSync('docker', ['compose', 'version'])
  : { code: 1, stdout: '', stderr: '' };
report(
  composeVerdict(
    plugin,
    plugin.code === 0 ? undefined : runCommandSync('docker-compose', ['version', '--short']),
  ),
);

// The ports the stages publish.
for (const use of portsToCheck(root)) {
  const state = await probePort(use.port);
  if (state !== 'busy') {
    report(portVerdict(use, { state }, os));
    continue;
  }
  const containers = engineVerdict.ok ? containersOn(use.port) : [];
  report(
    portVerdict(use, { state, containers, holders: containers.length ? [] : portHolders(use.port, os) }, os),
  );
}

// Architecture (and Docker's), free disk, Node, line endings.
const engineArch = engineVerdict.ok ? /\/(\w+)\s*$/.exec(engine.stdout)?.[1] : undefined;
const rosetta =
  os === 'darwin' && runCommandSync('sysctl', ['-n', 'sysctl.proc_translated']).stdout.trim() === '1';
report(archVerdict(os, arch(), engineArch, rosetta));

const info = engineVerdict.ok
  ? runCommandSync('docker', ['info', '--format', '{{.OperatingSystem}}\t{{.DockerRootDir}}'])
      .stdout.trim()
      .split('\t')
  : [];
const dockerDesktop = /Docker Desktop/i.test(info[0] ?? '') || os !== 'linux';
const places = [{ label: 'the repository’s disk', free: freeBytes(root) }];
// A Linux engine keeps images and volumes in its data folder (/var/lib/docker) on this machine.
if (!dockerDesktop && info[1]) places.push({ label: `Docker’s ${info[1]}`, free: freeBytes(info[1]) });
report(
  diskVerdict(
    places.filter((p): p is { label: string; free: number } => p.free !== undefined),
    dockerDesktop,
  ),
);

report(nodeVerdict(process.version, systemNodeVersion(os)));
report(lineEndingsVerdict(crlfFiles(root)));

console.log(`\n${closingLine(verdicts)}`);
process.exit(verdicts.every((v) => v.ok) ? 0 : 1);
