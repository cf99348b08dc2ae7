// The store on a real SQLite file: what a board restarted mid-class keeps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckVerdict } from '../lib/board-report.ts';
import { BoardStore } from './store.ts';

const passed = (id: string): CheckVerdict => ({ id, verdict: 'passed', ms: 3 });
const failed = (id: string): CheckVerdict => ({ id, verdict: 'failed', ms: 9 });

describe('the board store', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'workshop-board-store-'));
    file = join(dir, 'sub', 'board.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a new file gets a class code and a secret; opened again, it keeps them and its data', () => {
    const store = BoardStore.open(file);
    const { classCode, tokenSecret } = store;
    expect(classCode).toMatch(/^[A-HJKMNP-Z2-9]{6}$/);
    expect(tokenSecret).toHaveLength(32);
    const ada = store.addAttendee('ada');
    store.saveReport(ada?.id ?? 0, { stage: '01-app', version: '1.0.0', checks: [passed('healthz')] }, 1000);
    store.close();

    const again = BoardStore.open(file);
    expect(again.classCode).toBe(classCode);
    expect(Buffer.from(again.tokenSecret)).toEqual(Buffer.from(tokenSecret));
    expect(again.attendees()).toEqual([{ id: ada?.id, name: 'ada' }]);
    expect(again.cells()).toEqual([
      expect.objectContaining({
        name: 'ada',
        stage: '01-app',
        reportedAt: 1000,
        failingSince: null,
        reports: 1,
      }),
    ]);
    again.close();
  });

  test('a name is taken once, whatever its case', () => {
    const store = BoardStore.open(file);
    expect(store.addAttendee('Ada')).toEqual({ id: expect.any(Number), name: 'Ada' });
    expect(store.addAttendee('ada')).toBeUndefined();
    expect(store.addAttendee('ADA')).toBeUndefined();
    expect(store.attendees()).toHaveLength(1);
    store.close();
  });

  test('stuck since the first failing report, until a report passes', () => {
    const store = BoardStore.open(file);
    const id = store.addAttendee('grace')?.id ?? 0;
    const report = (checks: CheckVerdict[], at: number) =>
      store.saveReport(id, { stage: '03-db', version: '1.0.0', checks }, at);
    const cell = () => store.cells()[0];

    report([passed('healthz'), failed('db-healthy')], 1000);
    report([passed('healthz'), failed('db-healthy')], 2000);
    expect(cell()).toMatchObject({ reportedAt: 2000, failingSince: 1000, reports: 2 });
    report([passed('healthz'), passed('db-healthy')], 3000);
    expect(cell()).toMatchObject({ failingSince: null, reports: 3 });
    // Nothing answering counts as failing too.
    report([], 4000);
    expect(cell()).toMatchObject({ failingSince: 4000, checks: [] });
    store.close();
  });

  test('one row per attendee and stage: a report replaces the last one of its stage only', () => {
    const store = BoardStore.open(file);
    const ada = store.addAttendee('ada')?.id ?? 0;
    const bob = store.addAttendee('bob')?.id ?? 0;
    store.saveReport(ada, { stage: '01-app', version: '1.0.0', checks: [failed('healthz')] }, 1);
    store.saveReport(ada, { stage: '02-compose', version: '1.0.0', checks: [passed('counter')] }, 2);
    store.saveReport(bob, { stage: '01-app', version: '1.0.0', checks: [passed('healthz')] }, 3);
    store.saveReport(ada, { stage: '01-app', version: '1.0.1', checks: [passed('healthz')] }, 4);
    const cells = store.cells().map((c) => [c.name, c.stage, c.version, c.checks[0]?.verdict]);
    expect(cells).toEqual([
      ['ada', '01-app', '1.0.1', 'passed'],
      ['ada', '02-compose', '1.0.0', 'passed'],
      ['bob', '01-app', '1.0.0', 'passed'],
    ]);
    store.close();
  });
});
