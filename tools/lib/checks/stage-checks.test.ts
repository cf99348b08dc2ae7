import { readCompose } from '../compose-file.ts';
import { findStage, listStages } from '../stages.ts';
import { stagesWithChecks } from './stage-checks.ts';
import app from './stages/01-app.ts';
import compose from './stages/02-compose.ts';
import db from './stages/03-db.ts';
import scale from './stages/04-scale.ts';
import worker, { DASHBOARD } from './stages/05-worker.ts';
import cluster from './stages/06-cluster.ts';
import type { StageChecks } from './types.ts';

const files: Record<string, StageChecks> = {
  '01-app': app,
  '02-compose': compose,
  '03-db': db,
  '04-scale': scale,
  '05-worker': worker,
  '06-cluster': cluster,
};

test('every checks file is here (a new one: add it above)', () => {
  expect(stagesWithChecks().map((s) => s.name)).toEqual(Object.keys(files));
});

test('check ids are unique across the stages, and each retired id is an earlier check', () => {
  const seen = new Set<string>();
  for (const checks of Object.values(files)) {
    for (const id of checks.retires ?? []) expect(seen).toContain(id);
    for (const { id } of [...checks.checks, ...(checks.verify?.extras ?? [])]) {
      expect(seen).not.toContain(id);
      seen.add(id);
    }
  }
});

test.each(Object.entries(files))('%s: verify scales services that its compose.yaml has', (folder, checks) => {
  const { services } = readCompose(findStage(listStages(), folder));
  for (const service of Object.keys(checks.verify?.scale ?? {})) expect(services).toContain(service);
});

test('05: the dashboard port the checks ask is the one compose.yaml publishes', () => {
  const { ports } = readCompose(findStage(listStages(), '05'));
  expect(ports.filter((p) => p.service === 'dashboard')).toEqual([
    { service: 'dashboard', port: DASHBOARD.port, variable: DASHBOARD.variable },
  ]);
});
