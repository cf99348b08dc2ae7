import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../lib/root.ts';
import { checkPlatform, targets } from './platforms.ts';

const cases = targets.flatMap(({ folder, platforms, omitDev, needs }) =>
  platforms.map((platform) => ({
    folder,
    platform,
    omitDev,
    needs,
    name: `${folder} on ${platform.os}-${platform.cpu}`,
  })),
);

describe('one lock for every platform', () => {
  test.each(cases)(
    'npm ci installs a native build of every package that needs one: $name',
    async (target) => {
      const { installed, missing } = await checkPlatform(target.folder, target.platform, target);
      expect(missing).toEqual([]);
      for (const name of target.needs) {
        // @biomejs/biome -> @biomejs/cli-darwin-arm64, @swc/core -> @swc/core-darwin-arm64, ...
        const scope = name.startsWith('@') ? name.split('/')[0] : '@unrs';
        const native = installed.find((n) => n.startsWith(`${scope}/`));
        expect(native).toContain(`${target.platform.os}-${target.platform.cpu}`);
      }
    },
  );

  test('a lock that holds only the Linux builds fails the check on macOS', async () => {
    // What the lock looked like when it was pruned to the Linux x64 builds.
    const dir = mkdtempSync(join(tmpdir(), 'lock-pruned-'));
    try {
      copyFileSync(join(repoRoot, 'package.json'), join(dir, 'package.json'));
      const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
      for (const path of Object.keys(lock.packages)) {
        if (/(darwin|win32)/.test(path)) delete lock.packages[path];
      }
      for (const entry of Object.values(lock.packages) as {
        optionalDependencies?: Record<string, string>;
      }[]) {
        for (const name of Object.keys(entry.optionalDependencies ?? {})) {
          if (/(darwin|win32)/.test(name)) delete entry.optionalDependencies?.[name];
        }
      }
      writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock));
      const { missing } = await checkPlatform(
        dir,
        { os: 'darwin', cpu: 'arm64' },
        { needs: targets[0].needs },
      );
      expect(missing).toEqual(expect.arrayContaining(['@biomejs/biome', '@swc/core', 'unrs-resolver']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
