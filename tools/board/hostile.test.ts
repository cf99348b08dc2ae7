// A board on a shared network gets hostile input. Each case as a client of
// the room would send it, to the real board process.
import { createHmac, randomBytes } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { type BoardProcess, call, joinBoard, startBoard } from '../lib/board-process.ts';

const REPORT = { stage: '01-app', version: '1.0.0', checks: [{ id: 'healthz', verdict: 'passed', ms: 4 }] };

/** An HS256 JWT made by hand (no library), to forge what an attacker would. */
function jwt(payload: object, secret: Uint8Array, header: object = { alg: 'HS256' }): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part(header)}.${part(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

describe('hostile input to the board', () => {
  let board: BoardProcess;
  let secret: Uint8Array;
  let ada: string;
  const now = () => Math.floor(Date.now() / 1000);
  const reportAs = (token: string | undefined, body: unknown = REPORT, from = '127.0.0.2') =>
    call(`${board.url}/api/reports`, { body, token, from });

  beforeAll(async () => {
    board = await startBoard();
    // The board's own secret, read from its SQLite file: what a token that is right in every way but one needs.
    const db = new DatabaseSync(board.dbFile, { readOnly: true });
    const row = db.prepare("SELECT value FROM settings WHERE key = 'token_secret'").get() as {
      value: string;
    };
    db.close();
    secret = Buffer.from(row.value, 'base64url');
    ada = await joinBoard(board, 'ada', '127.0.0.2');
  });
  afterAll(() => board.destroy());

  test('a report without a token is refused: 401, and nothing is stored', async () => {
    const answer = await reportAs(undefined);
    expect(answer.status).toBe(401);
    expect(answer.json.error).toMatch(/needs the token/);
    expect((await call(`${board.url}/api/board`)).json.rows[0].cells).toEqual({});
  });

  test.each([
    [
      'signed with another key',
      () => jwt({ sub: '1', name: 'ada', class: board.code, exp: now() + 60 }, randomBytes(32)),
    ],
    [
      'with alg "none"',
      () =>
        `${jwt({ sub: '1', name: 'ada', class: board.code }, secret, { alg: 'none' }).split('.').slice(0, 2).join('.')}.`,
    ],
    [
      'with its payload changed',
      () => {
        const [h, , s] = ada.split('.');
        return `${h}.${Buffer.from(JSON.stringify({ sub: '1', name: 'ada', class: board.code, exp: now() + 9e6 })).toString('base64url')}.${s}`;
      },
    ],
    ['that is not a JWT', () => 'hello'],
  ])('a forged token (%s) is refused: 401', async (_what, token) => {
    const answer = await reportAs(token());
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe('the token is not one this board signed');
  });

  test('an expired token is refused (401), and says to join again', async () => {
    const expired = jwt(
      { sub: '1', name: 'ada', class: board.code, iat: now() - 7200, exp: now() - 60 },
      secret,
    );
    const answer = await reportAs(expired);
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe('the token has expired: join again');
  });

  test('a token of this board for another class, or for an attendee it does not have, is refused: 401', async () => {
    const otherClass = jwt({ sub: '1', name: 'ada', class: 'ZZZZZZ', exp: now() + 60 }, secret);
    expect((await reportAs(otherClass)).json.error).toBe('the token is for another class');
    const nobody = jwt({ sub: '999', name: 'mallory', class: board.code, exp: now() + 60 }, secret);
    const answer = await reportAs(nobody);
    expect(answer.status).toBe(401);
    expect(answer.json.error).toMatch(/names no attendee/);
  });

  test('a body over the limit is refused: 413', async () => {
    const big = { ...REPORT, padding: 'x'.repeat(20_000) };
    const answer = await reportAs(ada, big);
    expect(answer.status).toBe(413);
    expect(answer.json).toEqual({ error: 'a body must be at most 16kb' });
  });

  test.each([
    ['malformed JSON', '{"stage": "01-app",', /not valid JSON/],
    ['not an object', '[1, 2]', /a JSON object/],
    ['an unknown stage', { ...REPORT, stage: '99-nope' }, /"stage" must be one of 01-app, 02-compose/],
    ['a stage as HTML', { ...REPORT, stage: '<b>01</b>' }, /"stage" must be one of/],
    [
      'a check id that is not one',
      { ...REPORT, checks: [{ id: '<script>', verdict: 'passed', ms: 1 }] },
      /checks\[0\]\.id/,
    ],
    ['an unknown verdict', { ...REPORT, checks: [{ id: 'healthz', verdict: 'great', ms: 1 }] }, /verdict/],
    [
      'a negative duration',
      { ...REPORT, checks: [{ id: 'healthz', verdict: 'passed', ms: -1 }] },
      /ms must be/,
    ],
    ['too many checks', { ...REPORT, checks: Array(101).fill(REPORT.checks[0]) }, /at most 100/],
  ])('%s is refused: 400', async (_what, body, message) => {
    const answer = await reportAs(ada, body);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(message);
  });

  test('joining: a wrong class code is 403, a taken name 409 (whatever its case), an unprintable name 400', async () => {
    const join = (body: object, token?: string) =>
      call(`${board.url}/api/join`, { body, token, from: '127.0.0.3' });
    expect((await join({ code: 'WRONG1', name: 'eve' })).status).toBe(403);
    const taken = await join({ code: board.code, name: 'ADA' });
    expect(taken.status).toBe(409);
    expect(taken.json.error).toBe('the name "ADA" is taken on this board: choose another (--as)');
    expect((await join({ code: board.code, name: 'ev\u202ee' })).status).toBe(400);
    expect((await join({ code: board.code, name: 'a\nb' })).status).toBe(400);
    expect((await join({ code: board.code, name: 'x'.repeat(33) })).status).toBe(400);
    // The name's own token gets it again (that is how an attendee's check joins again after its token expired).
    const again = await join({ code: board.code, name: 'ada' }, ada);
    expect(again.status).toBe(201);
    expect(again.json.name).toBe('ada');
  });

  test('one attendee cannot write another’s row: the row is the token’s, whatever the body says', async () => {
    const bob = await joinBoard(board, 'bob', '127.0.0.4');
    const failing = {
      ...REPORT,
      name: 'bob',
      attendee: 'bob',
      checks: [{ id: 'healthz', verdict: 'failed', ms: 1 }],
    };
    expect((await reportAs(ada, failing)).status).toBe(201);
    expect((await reportAs(bob, REPORT, '127.0.0.4')).status).toBe(201);
    const rows = (await call(`${board.url}/api/board`)).json.rows;
    const cell = (name: string) => rows.find((r: { name: string }) => r.name === name).cells['01-app'];
    expect(cell('ada')).toMatchObject({ passed: 0, failing: ['GET /healthz answers 200 {"status": "ok"}'] });
    expect(cell('bob')).toMatchObject({ passed: 1, failing: [] });
  });

  test('HTML and formulas as names are kept as text: in the JSON as sent, in the CSV never a formula', async () => {
    const names = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '=HYPERLINK("http://x","y")'];
    for (const [i, name] of names.entries()) {
      const token = await joinBoard(board, name, `127.0.1.${i + 1}`);
      expect((await reportAs(token, REPORT, `127.0.1.${i + 1}`)).status).toBe(201);
    }
    const answer = await call(`${board.url}/api/board`);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    const shown = answer.json.rows.map((r: { name: string }) => r.name);
    for (const name of names) expect(shown).toContain(name);
    const csv = (await call(`${board.url}/api/board.csv`)).text;
    expect(csv).toContain('"\'=HYPERLINK(""http://x"",""y"")","01-app"');
    expect(csv).toContain('"<script>alert(1)</script>","01-app"');
  });

  test('a flood from one client gets 429s with Retry-After, and the others are still served', async () => {
    const flood = await Promise.all(
      Array.from({ length: 150 }, () => call(`${board.url}/api/board`, { from: '127.0.2.1' })),
    );
    const refused = flood.filter((a) => a.status === 429);
    // A burst of 30, then 2 a second: a few more get through when the machine is slow to send them.
    expect(flood.filter((a) => a.status === 200).length).toBeLessThanOrEqual(40);
    expect(refused.length).toBeGreaterThanOrEqual(110);
    expect(refused[0]?.headers['retry-after']).toBe('1');
    expect(refused[0]?.json.error).toBe('too many requests from 127.0.2.1: wait 1 s');
    // While it is refused, another attendee reports and the page loads.
    expect((await reportAs(ada)).status).toBe(201);
    expect((await call(`${board.url}/`)).status).toBe(200);
  });
});
