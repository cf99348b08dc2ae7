// `npm run lock:platforms [-- --install]`: for the root and every stage, which
// native builds `npm ci` would install on each platform (see platforms.ts).
// --install installs each one into a scratch folder instead of a dry run.
import { parseOrExit, readCommandLine } from '../lib/cli.ts';
import { checkPlatform, targets } from './platforms.ts';

const USAGE = `Usage: npm run lock:platforms [-- --install]

For the root and every stage, which native builds \`npm ci\` would install on each
platform, from package-lock.json (a dry run).
  --install   install each one into a scratch folder instead`;
const { install } = parseOrExit(() => {
  const { values } = readCommandLine(process.argv.slice(2), { install: { type: 'boolean', default: false } });
  return { help: Boolean(values.help), install: values.install };
}, USAGE);
let failed = 0;
for (const { folder, platforms, omitDev, needs } of targets) {
  for (const platform of platforms) {
    const { installed, missing } = await checkPlatform(folder, platform, { omitDev, install, needs });
    const label = `${folder} ${platform.os}-${platform.cpu}`.padEnd(30);
    console.log(
      `${missing.length === 0 ? '✓' : '✗'} ${label} ${installed.join(', ') || '(no native packages)'}`,
    );
    if (missing.length > 0) console.log(`  no native build in the lock for: ${missing.join(', ')}`);
    failed += missing.length > 0 ? 1 : 0;
  }
}
process.exit(failed === 0 ? 0 : 1);
