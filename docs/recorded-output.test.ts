// Outputs that the docs include from docs/output/ were recorded by running a
// tool once. These tests fail when the tool would now print something else
// than the recording shows (a stage added a port, a check was renamed), so
// that a stale recording is noticed and recorded again.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { portsToCheck } from '../tools/doctor/probe.ts';
import { cumulativeChecks, loadStages, stagesWithChecks } from '../tools/lib/checks/stage-checks.ts';
import { findStage } from '../tools/lib/stages.ts';

const root = join(import.meta.dirname, '..');
const output = (name: string) => readFileSync(join(root, 'docs', 'output', name), 'utf8');

/** The `port N (what uses it) is ...` lines of a doctor output. */
function portLines(text: string): { port: number; usedBy: string }[] {
  return [...text.matchAll(/^[✓✗] port (\d+) \((.+?)\) is /gmu)].map((m) => ({
    port: Number(m[1]),
    usedBy: m[2] as string,
  }));
}

describe('recorded doctor outputs', () => {
  test('portLines reads what the doctor prints', () => {
    expect(portLines('✓ port 3000 (dashboard, stages 05, 06) is free\n✓ Docker Compose v2')).toEqual([
      { port: 3000, usedBy: 'dashboard, stages 05, 06' },
    ]);
  });

  test.each([
    // doctor.txt ran with the default ports; port-busy-doctor.txt moved web with WEB_PORT.
    ['doctor.txt', 2],
    ['port-busy-doctor.txt', 2],
  ])('%s names the ports and their services as the doctor does now', (file, count) => {
    const lines = portLines(output(file));
    expect(lines).toHaveLength(count);
    for (const { port, usedBy } of lines) {
      const env = port === 3000 || port === 8080 ? {} : { WEB_PORT: String(port) };
      const now = portsToCheck(root, env).find((use) => use.port === port);
      expect({ port, usedBy }).toEqual({ port, usedBy: now?.usedBy });
    }
  });
});

describe('recorded verify output', () => {
  test('verify.txt shows, for each stage it ran, the checks that stage has now', async () => {
    const text = output('verify.txt');
    const command = /node tools\/verify\/cli\.ts (.*)$/m.exec(text)?.[1] ?? '';
    const stages = stagesWithChecks();
    const ran = command
      .split(' ')
      .filter((word) => /^\d\d$/.test(word))
      .map((nn) => findStage(stages, nn));
    expect(ran.length).toBeGreaterThan(0);
    expect(text).not.toContain('has no checks yet');
    // The lines of each stage's block: from its `build` line to its result line.
    for (const stage of ran) {
      const loaded = await loadStages(stage.number);
      const expected = cumulativeChecks(loaded, stage.number).map(({ check }) => check.name);
      const block = text.slice(
        text.indexOf(`${stage.name.padEnd(12)} build`),
        text.indexOf(`${stage.name.padEnd(12)} ✓ ok`),
      );
      const shown = [...block.matchAll(/^ {6}[✓✗] (.+?)(?: \(\d+ ms\))?$/gmu)].map((m) => m[1]);
      expect({ stage: stage.name, checks: shown.slice(0, expected.length) }).toEqual({
        stage: stage.name,
        checks: expected,
      });
    }
  });
});
