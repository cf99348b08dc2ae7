// What the numbers were measured on.
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { runCommand } from '../lib/process.ts';
import type { Machine } from './report.ts';
import { round } from './stats.ts';

export async function describeMachine(): Promise<Machine> {
  const cores = cpus();
  const [docker, compose] = await Promise.all([
    runCommand('docker', ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 20_000 }),
    runCommand('docker', ['compose', 'version', '--short'], { timeoutMs: 20_000 }),
  ]);
  return {
    cpus: cores.length,
    cpuModel: cores[0]?.model.trim().replace(/\s+/g, ' ') ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    os: `${type()} ${release()}`,
    node: process.version,
    ...(docker.code === 0 ? { docker: docker.stdout.trim() } : {}),
    ...(compose.code === 0 ? { compose: compose.stdout.trim() } : {}),
    loadBefore: load(),
  };
}

export function load(): number[] {
  return loadavg().map((value) => round(value, 2));
}
