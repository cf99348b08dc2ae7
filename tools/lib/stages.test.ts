// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are compose's ${VAR:-default}, not templates
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishedPort, readCompose } from './compose-file.ts';
import { findStage, listStages, UnknownStageError } from './stages.ts';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'stages-test-'));
  writeFileSync(join(root, 'package.json'), '{}\n');
  for (const name of ['02-compose', '01-app', 'not-a-stage'])
    mkdirSync(join(root, 'stages', name, 'src'), { recursive: true });
  writeFileSync(
    join(root, 'stages', '02-compose', 'compose.yaml'),
    [
      'services:',
      '  web:',
      '    ports:',
      '      - "${WEB_PORT:-8080}:8080"',
      '      - "9229"',
      '  redis:',
      '    image: redis:7-bookworm',
      '  dashboard:',
      '    ports:',
      '      - target: 3000',
      '        published: 3000',
      'volumes:',
      '  data:',
      '',
    ].join('\n'),
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('the stages are the NN-name folders, in order', () => {
  expect(listStages(root).map((stage) => stage.name)).toEqual(['01-app', '02-compose']);
});

test('a stage can be named by number, name, or path', () => {
  for (const query of ['02', '2', '02-compose', 'compose', 'stages/02-compose/', './stages/02-compose']) {
    expect(findStage(listStages(root), query).name).toBe('02-compose');
  }
  expect(() => findStage(listStages(root), '07')).toThrow(
    new UnknownStageError('There is no stage "07". The stages are: 01-app, 02-compose.'),
  );
});

test('compose.yaml: services, named volumes and published host ports', () => {
  expect(readCompose(findStage(listStages(root), '02'))).toEqual({
    services: ['web', 'redis', 'dashboard'],
    volumes: ['data'],
    ports: [
      { service: 'web', port: 8080, variable: 'WEB_PORT' },
      { service: 'dashboard', port: 3000 },
    ],
  });
});

test('the host side of a ports entry', () => {
  expect(publishedPort('8080:80')).toEqual({ port: 8080 });
  expect(publishedPort('127.0.0.1:8081:80/tcp')).toEqual({ port: 8081 });
  expect(publishedPort('${PORT-5000}:5000')).toEqual({ port: 5000, variable: 'PORT' });
  expect(publishedPort('127.0.0.1:${DASHBOARD_PORT:-3000}:3000')).toEqual({
    port: 3000,
    variable: 'DASHBOARD_PORT',
  });
  expect(publishedPort('${PORT}:5000')).toBeUndefined();
  expect(publishedPort('80')).toBeUndefined();
  expect(publishedPort({ target: 80 })).toBeUndefined();
});
