// CPU time that processes used, from Linux's /proc: how much work one request
// costs each program, a number that other load on the machine disturbs far
// less than requests per second. Elsewhere (macOS) there is no /proc: the
// numbers are left out.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

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

function withChildren(pids: readonly number[]): number[] {
  const all = new Set(pids);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = Number(statFields(Number(entry))?.[1]);
    if (all.has(parent)) all.add(Number(entry));
  }
  return [...all];
}
