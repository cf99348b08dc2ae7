// `npm run typecheck`: tsc (strict, no emit) over the root tooling and tests,
// then over each stage's src/ with the stage's own tsconfig.json.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot as root } from './lib/root.ts';
import { listStages } from './lib/stages.ts';

const tsc = join(root, 'node_modules', '.bin', 'tsc');
const projects = ['.', ...listStages().map((stage) => join('stages', stage.name))];

let failed = 0;
for (const project of projects) {
  const result = spawnSync(tsc, ['-p', project], { cwd: root, stdio: 'inherit' });
  console.log(`${result.status === 0 ? '✓' : '✗'} tsc -p ${project}`);
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
