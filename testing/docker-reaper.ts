// `node testing/docker-reaper.ts <pid> <label>`, started by docker-servers.ts
// in a process group of its own: waits until process <pid> (the test run) has
// ended, however it ended, then removes every container that carries <label>,
// with its volumes, and the run's images (the PostgreSQL template). A normal
// run has removed them already; this is for a Ctrl-C, a crash or a killed jest.
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const [pid, label] = process.argv.slice(2);
if (!pid || !label) throw new Error('usage: node testing/docker-reaper.ts <pid> <label>');

function alive(id: number): boolean {
  try {
    process.kill(id, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function labelled(list: string[]): string[] {
  return execFileSync('docker', [...list, '--quiet', '--filter', `label=${label}`])
    .toString()
    .split(/\s+/)
    .filter(Boolean);
}

while (alive(Number(pid))) await sleep(1000);
const containers = labelled(['ps', '--all']);
if (containers.length > 0)
  execFileSync('docker', ['rm', '--force', '--volumes', ...containers], { stdio: 'ignore' });
const images = [...new Set(labelled(['images']))];
if (images.length > 0) execFileSync('docker', ['rmi', '--force', ...images], { stdio: 'ignore' });
