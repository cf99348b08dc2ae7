// CPU time that processes used, from Linux's /proc: how much work one request
// costs each program, a number that other load on the machine disturbs far
// less than requests per second. Elsewhere (macOS) there is no /proc: the
// numbers are left out.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus as cpuList } from 'node:os';

/** Kernel clock ticks per second (USER_HZ): 100 on every common Linux. */
const TICKS_PER_SECOND = 100;

/** user + system CPU seconds of each pid and of its children (nginx's workers); undefined without /proc. */
export function cpuSeconds(pids: readonly number[]): number | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  let ticks = 0;
  for (const pid of withChildren(pids)) {
    const fields = statFields(pid);
    // utime and stime: fields 14 and 15 of stat, 12 and 13 after "pid (comm) ".
    if (fields) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/** Microseconds of CPU per request between two cpuSeconds() readings. */
export function perRequestUs(before: number | undefined, after: number | undefined, requests: number) {
  if (before === undefined || after === undefined || requests === 0) return undefined;
  return Math.round(((after - before) * 1e6) / requests);
}

function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: split after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // the process has gone
  }
}

/** The pids, their children, their children's children... */
function withChildren(pids: readonly number[]): number[] {
  const all = new Set(pids);
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry)) parents.set(Number(entry), Number(statFields(Number(entry))?.[1]));
  }
  for (let size = -1; size !== all.size; ) {
    size = all.size;
    for (const [pid, parent] of parents) if (all.has(parent)) all.add(pid);
  }
  return [...all];
}

/**
 * Gives `pids` (and their children) the last CPU to themselves, and moves
 * this process and everything else it started (replicas, Redis, PostgreSQL,
 * the load generator) to the other CPUs: a proxy with a core of its own, as
 * on a machine of its own. Returns what puts everything back on every CPU,
 * or a reason why it cannot be done here (needs Linux's taskset and 2 CPUs).
 */
export function pinApart(pids: readonly number[]): { restore: () => void } | { why: string } {
  // All the machine's CPUs (availableParallelism() would count only the ones we may use now).
  const cpus = cpuList().length;
  if (cpus < 2) return { why: 'one CPU: nothing to keep apart' };
  if (!existsSync('/proc/self/stat')) return { why: 'no /proc (not Linux)' };
  const own = new Set(withChildren(pids));
  const everything = withChildren([process.pid]);
  const rest = everything.filter((pid) => !own.has(pid));
  const all = `0-${cpus - 1}`;
  try {
    setAffinity(`0-${cpus - 2}`, rest);
    setAffinity(String(cpus - 1), [...own]);
  } catch (err) {
    setAffinity(all, everything, true);
    return { why: `taskset failed: ${(err as Error).message.split('\n')[0]}` };
  }
  return { restore: () => setAffinity(all, everything, true) };
}

/** taskset -a (every thread) for each pid; a process that has exited meanwhile is no error. */
function setAffinity(cpuList: string, pids: readonly number[], quiet = false): void {
  for (const pid of pids) {
    if (!existsSync(`/proc/${pid}`)) continue;
    try {
      execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'pipe' });
    } catch (err) {
      if (!quiet && existsSync(`/proc/${pid}`)) throw err;
    }
  }
}
