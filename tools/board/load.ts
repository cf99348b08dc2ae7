// `npm run board:load`: a room of 60 attendees, each reporting every 5 s for a
// minute (each from a loopback address of its own, as from its own laptop), to
// a real board on this machine with one page watching it live. Prints how
// many reports were accepted, their latency, and whether the board lost any.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, joinBoard, startBoard } from '../lib/board-process.ts';
import { parseOrExit, readCommandLine, UsageError } from '../lib/cli.ts';
import { loadCatalogue } from './catalogue.ts';

const USAGE = `Usage: npm run board:load [-- --attendees N] [--every SECONDS] [--seconds SECONDS]

A room of attendees (default 60), each reporting every 5 seconds for 60 seconds
to a real board on this machine, with one page watching it live.`;
const { attendees, everyMs, durationMs } = parseOrExit(() => {
  const { values } = readCommandLine(process.argv.slice(2), {
    attendees: { type: 'string', default: '60' },
    every: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '60' },
  });
  return {
    help: Boolean(values.help),
    attendees: count('--attendees', values.attendees, 250),
    everyMs: count('--every', values.every, 60) * 1000,
    durationMs: count('--seconds', values.seconds, 600) * 1000,
  };
}, USAGE);

/** A whole number from 1 to `most`: the load stays bounded. */
function count(option: string, text: string, most: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > most) {
    throw new UsageError(`${option} takes a whole number from 1 to ${most}, got "${text}".`);
  }
  return n;
}

// The checks of stage 03, as its attendees' reports carry them.
const catalogue = await loadCatalogue();
const ids = [...catalogue.checkNames.keys()].slice(0, 19);

const board = await startBoard();
const latencies: number[] = [];
const statuses = new Map<number, number>();
let accepted = 0;

// One page, like the projector's, reading the live events all along.
const page = await fetch(`${board.url}/api/events`);
const reader = page.body?.getReader();
let events = 0;
const reading = (async () => {
  for (;;) {
    const chunk = await reader?.read().catch(() => undefined);
    if (!chunk || chunk.done) return;
    events += (new TextDecoder().decode(chunk.value).match(/^event: board$/gm) ?? []).length;
  }
})();

async function attendee(i: number): Promise<void> {
  const from = `127.0.3.${i + 1}`;
  const token = await joinBoard(board, `attendee-${String(i + 1).padStart(2, '0')}`, from);
  await sleep(Math.random() * everyMs); // the room does not report in step
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const next = performance.now() + everyMs;
    const checks = ids.map((id) => ({ id, verdict: Math.random() < 0.9 ? 'passed' : 'failed', ms: 5 }));
    const started = performance.now();
    const answer = await call(`${board.url}/api/reports`, {
      body: { stage: '03-db', version: '1.0.0', checks },
      token,
      from,
    });
    latencies.push(performance.now() - started);
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    if (answer.status === 201) accepted++;
    await sleep(Math.max(0, next - performance.now()));
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: attendees }, (_, i) => attendee(i)));
const elapsed = (performance.now() - started) / 1000;
await sleep(500); // the last coalesced event
const stored = (await call(`${board.url}/api/board`)).json.rows.reduce(
  (sum: number, row: { cells: Record<string, { reports: number }> }) =>
    sum + Object.values(row.cells).reduce((s, cell) => s + cell.reports, 0),
  0,
);
await reader?.cancel();
await reading;
await board.destroy();

latencies.sort((a, b) => a - b);
const at = (q: number) =>
  (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(1);
const sent = latencies.length;
console.log(`${attendees} attendees, a report every ${everyMs / 1000} s each, for ${elapsed.toFixed(0)} s`);
console.log(`sent ${sent}, accepted ${accepted} (${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')})`);
console.log(`latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`);
console.log(
  `stored on the board ${stored}: ${stored === accepted ? 'none lost' : `${accepted - stored} LOST`}`,
);
console.log(`live events to the page: ${events} (${(events / elapsed).toFixed(1)} a second)`);
process.exit(stored === accepted && accepted === sent ? 0 : 1);
