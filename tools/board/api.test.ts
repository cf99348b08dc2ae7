import { type BoardProcess, call, joinBoard, startBoard } from '../lib/board-process.ts';
import { stagesWithChecks } from '../lib/checks/stage-checks.ts';

const report = (stage: string, checks: [string, string][]) => ({
  stage,
  version: '1.0.0',
  checks: checks.map(([id, verdict]) => ({ id, verdict, ms: 12 })),
});

describe('the board API', () => {
  let board: BoardProcess;
  beforeAll(async () => {
    board = await startBoard();
  });
  afterAll(() => board.destroy());

  test('join with the class code: a signed token that holds the name and the class, for a class day', async () => {
    const answer = await call(`${board.url}/api/join`, {
      body: { code: board.code.toLowerCase(), name: ' ada ' },
    });
    expect(answer.status).toBe(201);
    expect(answer.json.name).toBe('ada');
    const [header, payload] = String(answer.json.token).split('.');
    expect(JSON.parse(Buffer.from(header ?? '', 'base64url').toString())).toEqual({ alg: 'HS256' });
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    expect(claims).toMatchObject({ name: 'ada', class: board.code, sub: expect.any(String) });
    expect(claims.exp - claims.iat).toBe(12 * 3600);
  });

  test('a report shows in the board JSON, with the failing checks by name; the stuck come first', async () => {
    const grace = await joinBoard(board, 'grace', '127.0.0.2');
    const linus = await joinBoard(board, 'linus', '127.0.0.3');
    const post = (token: string, body: unknown, from: string) =>
      call(`${board.url}/api/reports`, { body, token, from });
    expect(
      (
        await post(
          linus,
          report('02-compose', [
            ['healthz', 'passed'],
            ['counter', 'passed'],
          ]),
          '127.0.0.3',
        )
      ).status,
    ).toBe(201);
    const failing = report('03-db', [
      ['healthz', 'passed'],
      ['db-healthy', 'failed'],
      ['db-volume', 'skipped'],
    ]);
    expect((await post(grace, failing, '127.0.0.2')).status).toBe(201);

    const { status, json } = await call(`${board.url}/api/board`);
    expect(status).toBe(200);
    const stages = stagesWithChecks().map((stage) => stage.name);
    expect(json.stages).toEqual(stages);
    expect(stages.slice(0, 5)).toEqual(['01-app', '02-compose', '03-db', '04-scale', '05-worker']);
    // grace is stuck, so first; linus passes; ada joined but has not reported yet.
    expect(json.rows.map((row: { name: string }) => row.name)).toEqual(['grace', 'ada', 'linus']);
    expect(json.rows[0].cells['03-db']).toMatchObject({
      passed: 1,
      total: 2,
      skipped: 1,
      answering: true,
      failing: ['the db service runs and is healthy'],
      failingSince: expect.any(Number),
      reports: 1,
    });
    expect(json.rows[0].stuckSince).toBe(json.rows[0].cells['03-db'].failingSince);
    expect(json.rows[2].cells['02-compose']).toMatchObject({
      passed: 2,
      total: 2,
      failing: [],
      failingSince: null,
    });
  });

  test('the CSV download: one line per attendee and stage', async () => {
    const answer = await call(`${board.url}/api/board.csv`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(answer.headers['content-disposition']).toBe('attachment; filename=board.csv');
    const lines = answer.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      '"attendee","stage","passed","total","failing","last_report","failing_since","reports"',
    );
    expect(lines[1]).toMatch(
      /^"grace","03-db","1","2","the db service runs and is healthy","20\d\d-[^"]+Z","20\d\d-[^"]+Z","1"$/,
    );
    expect(lines[2]).toMatch(/^"linus","02-compose","2","2","","20\d\d-[^"]+","","1"$/);
    expect(lines).toHaveLength(3);
  });

  test('live: a viewer of /api/events gets the board at once, and again after each report', async () => {
    const events = await fetch(`${board.url}/api/events`);
    expect(events.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = events.body?.getReader();
    let text = '';
    const nextBoard = async () => {
      for (;;) {
        const end = text.indexOf('\n\n');
        if (end >= 0) {
          const event = text.slice(0, end);
          text = text.slice(end + 2);
          const data = /^data: (.*)$/m.exec(event)?.[1];
          if (/^event: board$/m.test(event) && data) return JSON.parse(data);
          continue;
        }
        const { value, done } = (await reader?.read()) ?? { done: true };
        if (done) throw new Error('the event stream ended');
        text += new TextDecoder().decode(value);
      }
    };
    expect((await nextBoard()).rows).toHaveLength(3);
    const margaret = await joinBoard(board, 'margaret', '127.0.0.4');
    await call(`${board.url}/api/reports`, {
      body: report('01-app', [['healthz', 'passed']]),
      token: margaret,
      from: '127.0.0.4',
    });
    // The join and the report may come as one event or two: read until the report shows.
    let cell: unknown;
    while (!cell) {
      const seen = await nextBoard();
      cell = seen.rows.find((r: { name: string }) => r.name === 'margaret')?.cells['01-app'];
    }
    expect(cell).toMatchObject({ passed: 1, total: 1 });
    await reader?.cancel();
  });

  test('the class code only for the instructor’s screen: 127.0.0.1 gets it, another address a 403', async () => {
    expect((await call(`${board.url}/api/class`)).json).toEqual({ code: board.code, urls: [board.url] });
    const elsewhere = await call(`${board.url}/api/class`, { from: '127.0.0.9' });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.json.error).toMatch(/instructor/);
  });

  test('the page and the join page are served; an unknown route is a JSON 404', async () => {
    const page = await call(`${board.url}/`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Class board</title>');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect((await call(`${board.url}/join`)).text).toContain('<title>Join the class board</title>');
    const missing = await call(`${board.url}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: 'no GET /nope here' });
  });

  test('restarted mid-class, the board keeps its code, its rows and the tokens it gave', async () => {
    const before = await call(`${board.url}/api/board`);
    const ada = await joinBoard(board, 'ada2', '127.0.0.5');
    await board.stop();
    await board.start();
    const after = await call(`${board.url}/api/board`);
    expect(after.json.rows.map((r: { name: string }) => r.name)).toEqual([
      ...before.json.rows
        .map((r: { name: string }) => r.name)
        .filter((n: string) => n !== 'linus' && n !== 'margaret'),
      'ada2',
      'linus',
      'margaret',
    ]);
    const sent = await call(`${board.url}/api/reports`, {
      body: report('01-app', [['healthz', 'passed']]),
      token: ada,
      from: '127.0.0.5',
    });
    expect(sent.status).toBe(201);
  });
});
