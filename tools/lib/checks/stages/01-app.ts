// Stage 01: one web service. The checks of later stages start from these
// (all but the greeting hold up to the last stage).
import { expectJsonError, expectJsonObject, expectStatus, fail } from '../assert.ts';
import { expectHealthy } from '../services.ts';
import type { StageChecks } from '../types.ts';

export default {
  checks: [
    {
      id: 'hello-world',
      logs: ['web'],
      name: 'GET / answers "Hello World!" in plain text',
      hint:
        'Something answers, but not with the greeting of stage 01: is it stage 01 that runs on this port? ' +
        '`docker compose ps` shows what runs, `docker compose logs web` what it printed.',
      async run({ http }) {
        const res = await http.get('/');
        expectStatus(res, 200);
        if (res.text !== 'Hello World!\n') fail(`GET / answered ${JSON.stringify(res.text)}`);
        const type = res.headers.get('content-type') ?? '';
        if (!type.startsWith('text/plain')) fail(`GET / answered as ${type}, expected text/plain`);
      },
    },
    {
      id: 'healthz',
      logs: ['web'],
      name: 'GET /healthz answers 200 {"status": "ok"}',
      hint:
        'Docker asks /healthz to know whether web is healthy. A 503 names the dependency that is down: ' +
        'see `docker compose ps` for its state and `docker compose logs web` for what web says about it.',
      async run({ http }) {
        const res = await http.get('/healthz');
        expectStatus(res, 200);
        const body = expectJsonObject(res);
        if (body.status !== 'ok') fail(`GET /healthz answered ${res.text}, expected "status": "ok"`);
      },
    },
    {
      id: 'unknown-route',
      logs: ['web'],
      name: 'an unknown route answers 404 with a JSON error',
      hint:
        'Routes that nothing answers go to notFound and then to the error handler (src/errors.ts); ' +
        'both must be the last app.use() calls in src/app.ts.',
      async run({ http }) {
        const path = `/no-such-page-${Date.now()}`;
        const message = expectJsonError(await http.get(path), 404);
        if (!message.includes(path)) fail(`the 404 says "${message}", expected it to name ${path}`);
      },
    },
    {
      id: 'web-healthy',
      logs: ['web'],
      name: 'every web container runs and is healthy',
      docker: true,
      hint:
        'The healthcheck (compose.yaml) runs `node src/healthcheck.ts` in the container. ' +
        '`docker compose ps` shows the state, `docker compose logs web` why it is not healthy.',
      async run({ compose }) {
        await expectHealthy(compose, 'web');
      },
    },
  ],
} satisfies StageChecks;
