import { join } from 'node:path';
import { freePortsFor } from './ports.ts';
import { repoRoot } from './root.ts';

describe('freePortsFor', () => {
  test('WEB_PORT, and a port for every other variable the compose file publishes with', async () => {
    const taken: number[] = [];
    const range = { from: 28180, to: 28199 };
    const web = await freePortsFor(join(repoRoot, 'stages', '04-scale'), range, taken);
    expect(Object.keys(web)).toEqual(['WEB_PORT']);
    const more = await freePortsFor(join(repoRoot, 'stages', '05-worker'), range, taken);
    expect(Object.keys(more)).toEqual(['WEB_PORT', 'DASHBOARD_PORT']);
    // Each one free, in the range, and none handed out twice.
    const ports = [...Object.values(web), ...Object.values(more)].map(Number);
    expect(new Set(ports).size).toBe(3);
    expect(taken.sort()).toEqual([...ports].sort());
    for (const port of ports) expect(port >= range.from && port <= range.to).toBe(true);
  });
});
