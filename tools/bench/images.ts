// 3. The images: each stage's image against its base image, and the time of a
// rebuild after a one-line change against a cold build. Built from a copy of
// the stage in a temporary folder: the real stages/ are never touched.
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { commandError, runCommand } from '../lib/process.ts';
import { listStages } from '../lib/stages.ts';
import type { BenchContext } from './context.ts';
import { megabytes, seconds } from './render.ts';
import type { ImageResult, ImagesSection } from './report.ts';

export const BASE_IMAGE = 'node:24-bookworm-slim';
const BUILD_TIMEOUT_MS = 10 * 60_000;

export async function benchImages(ctx: BenchContext): Promise<ImagesSection> {
  const log = (text: string) => ctx.progress('images', text);
  const baseBytes = await imageBytes(BASE_IMAGE);
  const images: ImageResult[] = [];
  const stages = listStages(ctx.root).filter((stage) => existsSync(join(stage.dir, 'Dockerfile')));
  // A smoke run builds the first stage only: it shows that building works.
  for (const stage of ctx.quick ? stages.slice(0, 1) : stages) {
    const copy = mkdtempSync(join(tmpdir(), `workshop-bench-${stage.name.slice(0, 2)}-`));
    ctx.onCleanup(() => rmSync(copy, { recursive: true, force: true }));
    cpSync(stage.dir, copy, { recursive: true, filter: (path) => !path.includes('/node_modules') });
    const tag = `bench-image-${stage.name.slice(0, 2)}`;
    // Removed at the very end: until then their layers are the cache that
    // the start-up section's builds of the same stages use.
    ctx.onCleanup(() =>
      runCommand('docker', ['image', 'rm', `${tag}:cold`, `${tag}:edited`], { timeoutMs: 60_000 }),
    );

    log(`${stage.name}: docker build --no-cache`);
    const coldBuildMs = await build(copy, `${tag}:cold`, true);
    const bytes = await imageBytes(`${tag}:cold`);
    // The one-line change: a comment at the end of the app's main file.
    const editedFile = ['app.ts', 'server.ts', ...readdirSync(join(copy, 'src'))].find((name) =>
      existsSync(join(copy, 'src', name)),
    ) as string;
    appendFileSync(join(copy, 'src', editedFile), '// A one-line change, for npm run bench.\n');
    log(`${stage.name}: docker build after a one-line change in src/${editedFile}`);
    const rebuildMs = await build(copy, `${tag}:edited`, false);
    images.push({
      stage: stage.name,
      imageBytes: bytes,
      coldBuildMs,
      rebuildMs,
      editedFile: `src/${editedFile}`,
    });
    log(
      `${stage.name}: ${megabytes(bytes)} (+${megabytes(bytes - baseBytes)} over ${BASE_IMAGE}), ` +
        `cold build ${seconds(coldBuildMs)}, rebuild ${seconds(rebuildMs)}`,
    );
  }
  return { base: BASE_IMAGE, baseBytes, images };
}

async function build(dir: string, tag: string, noCache: boolean): Promise<number> {
  const started = performance.now();
  const result = await runCommand(
    'docker',
    ['build', ...(noCache ? ['--no-cache'] : []), '-q', '-t', tag, dir],
    {
      timeoutMs: BUILD_TIMEOUT_MS,
    },
  );
  if (result.code !== 0) throw new Error(`docker build of ${tag} failed: ${commandError(result)}`);
  return Math.round(performance.now() - started);
}

async function imageBytes(image: string): Promise<number> {
  const result = await runCommand('docker', ['image', 'inspect', '--format', '{{.Size}}', image], {
    timeoutMs: 30_000,
  });
  if (result.code !== 0) throw new Error(`docker image inspect ${image}: ${commandError(result)}`);
  return Number(result.stdout.trim());
}
