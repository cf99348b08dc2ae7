// The repository's root, found one way for every tool: two folders up from
// tools/lib. It holds in the check image too, which has no .git and no stages' code.
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..');
