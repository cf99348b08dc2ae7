// One lock for every platform: the lock files hold the native builds of every
// platform, and `npm ci` picks the ones for the machine it runs on. This
// checks, for each platform a contributor or an image uses, that `npm ci`
// there would install a native build for every package that needs one (Biome,
// swc and unrs-resolver at the root; msgpackr-extract in stage 05's image), by
// asking npm itself: `npm ci --dry-run --os=… --cpu=…` reads only the lock.
// With `install`, it really installs into a scratch folder (--ignore-scripts,
// so nothing foreign runs) and looks at what landed, which also proves that the
// registry serves every one of those packages. The command is cli.ts.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot as root } from '../lib/root.ts';

const run = promisify(execFile);

export interface Platform {
  os: 'darwin' | 'win32' | 'linux';
  cpu: 'arm64' | 'x64';
}

/** Who runs `npm ci` where: contributors at the root, `docker build` in the stages. */
export const targets: { folder: string; platforms: Platform[]; omitDev: boolean; needs: string[] }[] = [
  {
    folder: '.',
    // jest's transform (swc), its resolver (unrs-resolver) and `npm run lint` (Biome).
    needs: ['@biomejs/biome', '@swc/core', 'unrs-resolver'],
    platforms: [
      { os: 'darwin', cpu: 'arm64' },
      { os: 'darwin', cpu: 'x64' },
      { os: 'win32', cpu: 'x64' },
      { os: 'linux', cpu: 'arm64' },
      { os: 'linux', cpu: 'x64' },
    ],
    omitDev: false,
  },
  ...readdirSync(join(root, 'stages'))
    .filter((stage) => existsSync(join(root, 'stages', stage, 'package-lock.json')))
    .map((stage) => ({
      folder: join('stages', stage),
      // Docker Desktop on Apple Silicon builds and runs linux/arm64 images.
      platforms: [
        { os: 'linux', cpu: 'x64' },
        { os: 'linux', cpu: 'arm64' },
      ] satisfies Platform[],
      // The Dockerfiles run `npm ci --omit=dev`.
      omitDev: true,
      needs: [],
    })),
];

interface LockEntry {
  version: string;
  os?: string[];
  cpu?: string[];
  optionalDependencies?: Record<string, string>;
}

export interface Finding {
  /** A package whose native build for this platform npm would install, or did. */
  installed: string[];
  /** Packages with native builds for other platforms, but none for this one. */
  missing: string[];
}

const npmArgs = (platform: Platform, omitDev: boolean) => [
  'ci',
  `--os=${platform.os}`,
  `--cpu=${platform.cpu}`,
  ...(platform.os === 'linux' ? ['--libc=glibc'] : []),
  ...(omitDev ? ['--omit=dev'] : []),
  '--no-audit',
  '--no-fund',
];

/**
 * Which native builds `npm ci` on `platform` installs from the lock in
 * `folder` (relative to the repository's root), and which packages that have
 * native builds, or are named in `needs`, would get none.
 */
export async function checkPlatform(
  folder: string,
  platform: Platform,
  { omitDev = false, install = false, needs = [] as string[] } = {},
): Promise<Finding> {
  const dir = resolve(root, folder);
  const lockFile = join(dir, 'package-lock.json');
  const packages: Record<string, LockEntry> = JSON.parse(readFileSync(lockFile, 'utf8')).packages;
  const scratch = mkdtempSync(join(tmpdir(), 'lock-platforms-'));
  try {
    copyFileSync(join(dir, 'package.json'), join(scratch, 'package.json'));
    copyFileSync(lockFile, join(scratch, 'package-lock.json'));
    const args = [...npmArgs(platform, omitDev), ...(install ? ['--ignore-scripts'] : ['--dry-run'])];
    // On Windows `npm` is npm.cmd, which only a shell runs.
    const shell = process.platform === 'win32';
    const { stdout } = await run('npm', args, {
      cwd: scratch,
      shell,
      env: ownSettings(),
      maxBuffer: 64 * 1024 * 1024,
    });
    // The dry run lists `add <name> <version>`; an install leaves node_modules/<name>.
    const planned = install
      ? (name: string) => existsSync(join(scratch, 'node_modules', name, 'package.json'))
      : (name: string) => new RegExp(`^add ${name.replace(/[/.]/g, '\\$&')} `, 'm').test(stdout);

    const finding: Finding = { installed: [], missing: [] };
    const covered = new Set<string>();
    for (const [path, entry] of Object.entries(packages)) {
      const natives = Object.keys(entry.optionalDependencies ?? {}).filter(
        (name) => packages[`node_modules/${name}`]?.os,
      );
      if (natives.length === 0 || !planned(path.replace(/^.*node_modules\//, ''))) continue;
      const here = natives.filter((name) => {
        const { os = [], cpu = [] } = packages[`node_modules/${name}`] ?? {};
        return os.includes(platform.os) && cpu.includes(platform.cpu);
      });
      const landed = here.filter(planned);
      const name = path.replace(/^.*node_modules\//, '');
      if (landed.length > 0) {
        finding.installed.push(...landed);
        covered.add(name);
      } else finding.missing.push(name);
    }
    for (const name of needs) {
      if (!covered.has(name) && !finding.missing.includes(name)) finding.missing.push(name);
    }
    return finding;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The environment without the npm_config_* settings of an `npm run` around
 * us (`npm run -s` would silence the dry run's list, for one).
 */
function ownSettings(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_config_/i.test(key)));
}
