// `npm run typecheck`: tsc (strict, no emit) over the root tooling and tests,
// then over each stage's src/ with the stage's own tsconfig.json.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');
const projects = ['.', ...readdirSync(join(root, 'stages')).map((stage) => join('stages', stage))];

let failed = 0;
for (const project of projects) {
  const result = spawnSync(tsc, ['-p', project], { cwd: root, stdio: 'inherit' });
  console.log(`${result.status === 0 ? '✓' : '✗'} tsc -p ${project}`);
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
