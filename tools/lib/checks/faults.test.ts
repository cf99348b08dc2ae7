// The fault suite's counting, on the shapes the stages really answer: POST
// /records's 201 and 503 bodies, GET /records pages, GET /records/:id/archive,
// `ls /archive`. A promise broken in the data must show in the report.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ArchiveAnswer,
  brokenPromises,
  type FaultReport,
  formatReport,
  formatTimeline,
  listRecords,
  markerOf,
  type StoredRecord,
  startWriteStream,
  tallyArchives,
  tallyWrites,
  timeline,
  type WriteAnswer,
} from './faults.ts';
import { createHttp } from './http.ts';

const fault = 'db-stopped';
const run = '9f3a61c2';

/** A 201 as POST /records answers it: {"id": 41, "data": {...}} (and in 05 "archive"). */
function created(n: number, id: number, at: number): WriteAnswer {
  return {
    n,
    sentAt: at,
    answeredAt: at + 12,
    status: 201,
    id,
    json: true,
    detail: JSON.stringify({ id, data: { fault, run, n } }),
  };
}

/** A 503 as the error handler of stages 03-05 answers it. */
function refused(n: number, at: number, dependency = 'db'): WriteAnswer {
  return {
    n,
    sentAt: at,
    answeredAt: at + 4,
    status: 503,
    json: true,
    dependency,
    detail: JSON.stringify({ error: 'The database is unavailable; try again in a moment', dependency }),
  };
}

const stored = (id: number, n: number, theRun = run): StoredRecord => ({
  id,
  data: { fault, run: theRun, n },
});

test('a marker is recognised by its fault and run only', () => {
  expect(markerOf({ fault, run, n: 3 }, fault, run)).toEqual({ fault, run, n: 3 });
  expect(markerOf({ fault, run: 'other', n: 3 }, fault, run)).toBeUndefined();
  expect(markerOf({ fault: 'redis-stopped', run, n: 3 }, fault, run)).toBeUndefined();
  expect(markerOf({ fault, run, n: '3' }, fault, run)).toBeUndefined();
  expect(markerOf({ from: 'npm run check', nonce: 'x', items: [1, 2, 3] }, fault, run)).toBeUndefined();
  expect(markerOf(null, fault, run)).toBeUndefined();
});

test('kept promises: every 201 stored under its id, no 503 stored', () => {
  const answers = [
    created(0, 41, 0),
    created(1, 42, 250),
    refused(2, 500),
    refused(3, 750),
    created(4, 44, 1000),
  ];
  // GET /records after the baseline: another run's record and a check's record in between.
  const records = [
    stored(41, 0),
    stored(42, 1),
    stored(43, 2, 'another'),
    { id: 45, data: { from: 'npm run check' } },
    stored(44, 4),
  ];
  const tally = tallyWrites(answers, records, fault, run);
  expect(tally).toMatchObject({
    sent: 5,
    byStatus: { '201': 3, '503 db': 2 },
    acknowledged: 3,
    lost: [],
    refused: 2,
    refusedButStored: [],
    duplicates: [],
    notJson: 0,
    ids: [41, 42, 44],
  });
  expect(brokenPromises({ title: 't', stream: 's', writes: tally })).toEqual([]);
});

test('broken promises: a 503 that was stored, a 201 that was not, a record stored twice, a 502', () => {
  const answers = [
    created(0, 41, 0),
    created(1, 42, 250),
    refused(2, 500),
    { n: 3, sentAt: 750, answeredAt: 760, status: 502, json: false, detail: 'Bad Gateway' },
    { n: 4, sentAt: 1000, answeredAt: 16_000, status: 0, json: false, detail: 'no answer within 15 s' },
  ];
  const records = [stored(41, 0), stored(43, 2), stored(44, 3), stored(45, 3), stored(46, 4)];
  const tally = tallyWrites(answers, records, fault, run);
  expect(tally.lost).toEqual([1]);
  expect(tally.refusedButStored).toEqual([2, 3, 4]);
  expect(tally.duplicates).toEqual([3]);
  expect(tally.notJson).toBe(1); // no answer at all is counted as failed, not as "not JSON"
  expect(tally.byStatus).toEqual({ '201': 2, '503 db': 1, '502': 1, 'no answer (no answer within 15 s)': 1 });
  const broken = brokenPromises({ title: 't', stream: 's', writes: tally });
  expect(broken).toEqual([
    '1 acknowledged record(s) not stored: n = 1',
    '3 refused POST(s) stored all the same: n = 2, 3, 4',
    '1 POST(s) stored twice: n = 3',
    '1 answer(s) without a JSON body',
    'answers that are neither 201 nor 503: 502 × 1, no answer (no answer within 15 s) × 1',
  ]);
});

test('a 201 whose id holds another marker is lost', () => {
  const tally = tallyWrites([created(0, 41, 0)], [stored(41, 7)], fault, run);
  expect(tally.lost).toEqual([0]);
});

test('where only 201s are promised (Redis away in 05), a 503 is a broken promise', () => {
  const tally = tallyWrites([created(0, 41, 0), refused(1, 250, 'redis')], [stored(41, 0)], fault, run);
  const report = { title: 't', stream: 's', writes: tally };
  expect(brokenPromises(report)).toEqual([]);
  expect(brokenPromises(report, { allAcknowledged: true })).toEqual([
    '1 POST(s) not acknowledged: 503 redis × 1',
  ]);
});

test('timeline: the first refusal after the stop began, and 201 for good after the start', () => {
  const window = { stopBegan: 1000, stopped: 1400, started: 31_000 };
  const answers = [
    created(0, 1, 0),
    created(1, 2, 990), // answered 1002, after the stop began, but a 201
    refused(2, 1300), // answered 1304
    refused(3, 31_100), // still refused after the start
    created(4, 3, 31_500),
    refused(5, 31_700), // one more refusal: "for good" starts after it
    created(6, 4, 32_000),
    created(7, 5, 32_250),
  ];
  const t = timeline(answers, window);
  expect(t.firstRefusal).toBe('503 db');
  expect(t.firstRefusalMs).toBe(304);
  expect(t.backMs).toBe(1012);
  expect(formatTimeline(t, 'stop db')).toBe(
    'first 503 db 0.3 s after `stop db` began; 201 for good 1.0 s after it was back',
  );
  expect(formatTimeline(timeline(answers.slice(0, 2), window), 'stop db')).toBe(
    '201 throughout, not one refusal',
  );
  expect(formatTimeline(timeline(answers.slice(0, 4), window), 'stop db')).toMatch(/never back to 201$/);
});

/** GET /records/:id/archive as stage 05 answers it. */
const completed = (id: number): ArchiveAnswer => ({
  id,
  state: 'completed',
  archivedAt: '2026-12-01T21:40:03.120Z',
  error: null,
});

test('archived exactly once: completed, archivedAt, one file, no temporary file, written once', () => {
  const statuses: ArchiveAnswer[] = [
    completed(41),
    completed(42),
    { id: 43, state: 'failed', archivedAt: null, error: 'getaddrinfo ENOTFOUND db' },
    { id: 44, state: 'completed', archivedAt: null, error: null },
    completed(45),
    completed(46),
    completed(47),
    { id: 48, state: 'unknown', archivedAt: null, error: 'The queue has no archive job for this record' },
  ];
  // `docker compose exec worker ls -1 /archive`
  const files = [
    'record-41.json.zz',
    'record-42.json.zz',
    'record-43.json.zz',
    'record-44.json.zz',
    'record-46.json.zz',
    'record-46.json.zz.7f3c.tmp',
    'record-47.json.zz',
  ];
  const wrote = new Map([
    [41, 1],
    [42, 1],
    [47, 2],
  ]);
  const tally = tallyArchives(statuses, files, wrote);
  expect(tally).toEqual({
    expected: 8,
    once: 2,
    problems: {
      'failed: getaddrinfo ENOTFOUND db': [43],
      'completed without archivedAt': [44],
      'completed, no file in the archive volume': [45],
      'a temporary file left beside its archive': [46],
      'its file written more than once': [47],
      'unknown: The queue has no archive job for this record': [48],
    },
  });
  const writes = tallyWrites([created(0, 41, 0)], [stored(41, 0)], fault, run);
  expect(brokenPromises({ title: 't', stream: 's', writes, archive: tally })).toEqual([
    '6 acknowledged record(s) not archived exactly once',
  ]);
});

test('the report: one line each for the answers, the promises, the timeline, the archive', () => {
  const answers = [created(0, 41, 0), refused(1, 1300), created(2, 42, 31_500)];
  const writes = tallyWrites(answers, [stored(41, 0), stored(42, 2)], fault, run);
  const report: FaultReport = {
    title: 'db stopped 30.0 s',
    writes,
    stream: '4 at a time, each one every 250 ms',
    timeline: timeline(answers, { stopBegan: 1000, stopped: 1400, started: 31_000 }),
    what: 'stop db',
    archive: tallyArchives([completed(41), completed(42)], ['record-41.json.zz', 'record-42.json.zz']),
    more: ['stop db took 0.4 s'],
  };
  expect(formatReport(report).split('\n')).toEqual([
    'db stopped 30.0 s: 3 POSTs (4 at a time, each one every 250 ms); answers: 201 × 2, 503 db × 1',
    'acknowledged (201) 2, lost 0; refused 1, refused-but-stored 0; stored twice 0; non-JSON answers 0',
    'first 503 db 0.3 s after `stop db` began; 201 for good 0.5 s after it was back',
    'archived exactly once: 2 of 2',
    'stop db took 0.4 s',
  ]);
});

test('a long list of ids is cut short in the report', () => {
  const ids = Array.from({ length: 20 }, (_, i) => 100 + i);
  const tally = tallyArchives(
    ids.map((id) => ({
      id,
      state: 'failed',
      archivedAt: null,
      error: 'connect ECONNREFUSED 172.18.0.3:5432',
    })),
    [],
  );
  const writes = tallyWrites([], [], fault, run);
  expect(formatReport({ title: 't', stream: 's', writes, archive: tally })).toContain(
    'archived exactly once: 0 of 20; 20 failed: connect ECONNREFUSED 172.18.0.3:5432 (100, 101, 102, 103, 104, 105, 106, 107 and 12 more)',
  );
});

/**
 * A small records API on 127.0.0.1 with the stages' answers: 201 {id, data},
 * and a 503 {"error", "dependency": "db"} for every third POST, which it
 * stores all the same (the broken promise the suite must see).
 */
function leakyApi(): Server {
  const records: StoredRecord[] = [];
  return createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json; charset=utf-8');
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'POST') {
        const record = { id: records.length + 1, data: JSON.parse(body) };
        records.push(record);
        if (record.id % 3 === 0) {
          res.statusCode = 503;
          res.end(JSON.stringify({ error: 'The database is unavailable', dependency: 'db' }));
        } else {
          res.statusCode = 201;
          res.end(JSON.stringify(record));
        }
        return;
      }
      const after = Number(url.searchParams.get('after'));
      const limit = Number(url.searchParams.get('limit'));
      const page = records.filter((r) => r.id > after).slice(0, limit + 1);
      const results = page.slice(0, limit);
      const next = page.length > limit ? `/records?after=${results.at(-1)?.id}&limit=${limit}` : null;
      res.end(JSON.stringify({ results, next }));
    });
  });
}

test('a stream against a real server: every request answered, counted, and the stored-but-refused found', async () => {
  const server = leakyApi();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const http = createHttp(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const answers = await startWriteStream(http, {
      fault,
      run,
      clients: 3,
      paceMs: 0,
      maxRequests: 250,
    }).done();
    expect(answers.map((a) => a.n)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    const stored = await listRecords(http, 0); // three pages of 100
    expect(stored).toHaveLength(250);
    const tally = tallyWrites(answers, stored, fault, run);
    expect(tally.acknowledged + tally.refused).toBe(250);
    expect(tally.refused).toBe(83);
    expect(tally.refusedButStored).toHaveLength(83);
    expect(tally.lost).toEqual([]);
    expect(tally.byStatus).toEqual({ '201': 167, '503 db': 83 });
  } finally {
    server.close();
  }
});
