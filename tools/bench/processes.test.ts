// The parts of `npm run bench` that handle processes: a stage process whose
// log goes into a file, and a proxy pinned to a CPU of its own.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStage } from '../../testing/stage-process.ts';
import { pinApart } from './cpu.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a stage process can log into a file: it is found ready, and its lines are there', async () => {
  const logFile = join(dir, 'app.log');
  const app = await runStage('01-app', { logFile });
  try {
    expect(await (await fetch(`${app.url}/`)).text()).toBe('Hello World!\n');
    expect(app.output()).toMatch(/listening on port \d+/);
    expect(readFileSync(logFile, 'utf8')).toBe(app.output());
  } finally {
    await app.stop();
  }
});

/** The CPUs a process may run on, as Linux lists them ("0", "1", "0-1"). */
function allowedCpus(pid: number): string {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1] ?? '?';
}

const linuxWithTwoCpus = cpus().length >= 2 && process.platform === 'linux';
(linuxWithTwoCpus ? test : test.skip)(
  'pinning: the proxy gets the last CPU alone, everything else the others, until restored',
  async () => {
    const sleepers: ChildProcess[] = [spawn('sleep', ['30']), spawn('sleep', ['30'])];
    try {
      const [proxy, replica] = sleepers.map((s) => s.pid as number) as [number, number];
      const last = cpus().length - 1;
      const all = `0-${last}`;
      expect([allowedCpus(proxy), allowedCpus(replica)]).toEqual([all, all]);

      const pinned = pinApart([proxy]);
      if ('why' in pinned) throw new Error(pinned.why);
      try {
        expect(allowedCpus(proxy)).toBe(String(last));
        expect(allowedCpus(replica)).toBe(last === 1 ? '0' : `0-${last - 1}`);
        expect(allowedCpus(process.pid)).toBe(allowedCpus(replica));
      } finally {
        // Even after a failure: this jest worker runs other test files next.
        pinned.restore();
      }
      expect([allowedCpus(proxy), allowedCpus(replica), allowedCpus(process.pid)]).toEqual([all, all, all]);
    } finally {
      for (const s of sleepers) s.kill();
    }
  },
);
