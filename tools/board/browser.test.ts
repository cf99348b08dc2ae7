// The board page in a real browser (Debian's Chromium, headless): two
// attendees join and report, and the page shows them live, without a reload;
// names that are HTML stay text. It takes a screenshot of the page; with
// UPDATE_SCREENSHOTS=1 that screenshot becomes docs/images/board.png, the one
// the instructor guide shows (otherwise it goes to a temporary folder, so that
// a test run leaves the checkout as it was).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type BoardProcess, call, joinBoard, startBoard } from '../lib/board-process.ts';
import { repoRoot } from '../lib/root.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? join(repoRoot, 'docs', 'images', 'board.png')
    : join(mkdtempSync(join(tmpdir(), 'board-screenshot-')), 'board.png');

type Verdicts = Record<string, 'passed' | 'failed' | 'skipped'>;
const checks = (verdicts: Verdicts) =>
  Object.entries(verdicts).map(([id, verdict], i) => ({ id, verdict, ms: 5 + i * 7 }));

describe('the board page in Chromium', () => {
  let board: BoardProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} not found: the browser test needs Debian's chromium package (apt-get install chromium).`,
      );
    }
    board = await startBoard();
    // launch() starts it with a fresh profile (user-data-dir) of its own, removed at close().
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1500, height: 760 } });
  });
  afterAll(async () => {
    await browser?.close();
    await board?.destroy();
  });

  const tokens = new Map<string, string>();
  const post = async (name: string, from: string, stage: string, verdicts: Verdicts) => {
    const token = tokens.get(name) ?? (await joinBoard(board, name, from));
    tokens.set(name, token);
    const body = { stage, version: '1.0.0', checks: checks(verdicts) };
    const answer = await call(`${board.url}/api/reports`, { body, token, from });
    expect(answer.status).toBe(201);
  };
  const rowNames = () =>
    page.locator('#board tbody th.name').evaluateAll((ths) => ths.map((th) => th.firstChild?.textContent));

  test('two attendees join and report: their rows appear live, the stuck one first', async () => {
    await page.goto(board.url);
    await page.locator('#live.on').waitFor();
    expect(await page.locator('#empty').isVisible()).toBe(true);
    // A mark on this very page: still there after the updates means there was no reload.
    await page.evaluate(() => Object.assign(window, { boardMark: 'same page' }));

    await post('ada', '127.0.0.2', '01-app', {
      'hello-world': 'passed',
      healthz: 'passed',
      'unknown-route': 'passed',
    });
    await page.locator('#board tbody tr').first().waitFor();
    await post('grace', '127.0.0.3', '02-compose', {
      healthz: 'passed',
      counter: 'failed',
      'healthz-redis': 'failed',
    });
    await page.locator('#board tbody tr').nth(1).waitFor();

    expect(await rowNames()).toEqual(['grace', 'ada']);
    const graceCell = page.locator('#board tbody tr').first().locator('td').nth(1);
    expect(await graceCell.locator('.verdict').textContent()).toBe('✗ 1/3');
    expect(await graceCell.locator('li').allTextContents()).toEqual([
      'GET / counts visits, one more each time',
      'GET /healthz reports redis "up"',
    ]);
    expect(
      await page.locator('#board tbody tr').nth(1).locator('td').first().locator('.verdict').textContent(),
    ).toBe('✓ 3/3');
    expect(await page.evaluate(() => (window as { boardMark?: string }).boardMark)).toBe('same page');
    expect(await page.locator('#join code').textContent()).toContain(`--code ${board.code}`);
  });

  test('a cell changes in place when its attendee reports again; the screenshot of the board', async () => {
    await post('linus', '127.0.0.4', '03-db', {
      healthz: 'passed',
      'migrate-done': 'passed',
      'db-healthy': 'passed',
    });
    await post('margaret', '127.0.0.5', '04-scale', { healthz: 'passed', 'replicas-take-turns': 'failed' });
    await post('grace', '127.0.0.3', '02-compose', {
      healthz: 'passed',
      counter: 'passed',
      'healthz-redis': 'passed',
    });
    await page.waitForFunction(() => document.querySelectorAll('#board tbody tr').length === 4);
    await page.waitForFunction(
      () => document.body.textContent?.includes('✓ 3/3') && !document.body.textContent.includes('✗ 1/3'),
    );
    expect(await rowNames()).toEqual(['margaret', 'ada', 'grace', 'linus']);
    expect(await page.evaluate(() => (window as { boardMark?: string }).boardMark)).toBe('same page');
    await page.screenshot({ path: SCREENSHOT });
  });

  test('names that are HTML are shown as text: no element, no script runs', async () => {
    const names = ['<script>pwned=1</script>', '<img src=x onerror=pwned=2>'];
    for (const [i, name] of names.entries())
      await post(name, `127.0.1.${i + 1}`, '01-app', { healthz: 'failed' });
    await page.waitForFunction(() => document.querySelectorAll('#board tbody tr').length === 6);
    const shown = await rowNames();
    for (const name of names) expect(shown).toContain(name);
    expect(await page.locator('#board img, #board script').count()).toBe(0);
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
  });
});
