// `node tools/prune-lock.ts [package-lock.json ...]`
//
// The package registry this project is developed against serves the native
// binaries of the Linux x64 build only (Biome, swc, msgpackr-extract, ...).
// `npm install` then writes a lock file whose packages name optional
// dependencies (the other platforms' binaries) that the lock does not hold,
// and `npm ci` refuses such a lock ("Missing: ... from lock file"). This script
// drops those names, so that `npm ci` installs exactly what the lock holds.
// Run it after every `npm install` that changes a lock file.
import { readFileSync, writeFileSync } from 'node:fs';

type Entry = { optionalDependencies?: Record<string, string> };

/** Where npm would find `name` when `from` requires it: nested folders first, then upwards. */
function candidates(from: string, name: string): string[] {
  const parts = from === '' ? [] : from.split('/node_modules/');
  const found: string[] = [];
  for (let depth = parts.length; depth >= 1; depth--) {
    found.push(`${parts.slice(0, depth).join('/node_modules/')}/node_modules/${name}`);
  }
  found.push(`node_modules/${name}`);
  return found;
}

export function pruneLock(lock: { packages: Record<string, Entry> }): number {
  let removed = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    const optional = entry.optionalDependencies;
    if (!optional) continue;
    for (const name of Object.keys(optional)) {
      if (!candidates(path, name).some((candidate) => candidate in lock.packages)) {
        delete optional[name];
        removed++;
      }
    }
    if (Object.keys(optional).length === 0) delete entry.optionalDependencies;
  }
  return removed;
}

for (const file of process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['package-lock.json']) {
  const lock = JSON.parse(readFileSync(file, 'utf8'));
  const removed = pruneLock(lock);
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`${file}: ${removed} optional dependencies that the lock does not hold removed`);
}
