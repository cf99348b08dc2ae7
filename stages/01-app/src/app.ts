import express from 'express';
import { errorHandler, notFound } from './errors.ts';

export function createApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/', (_req, res) => {
    res.type('text/plain').send('Hello World!\n');
  });

  // Docker's healthcheck (see compose.yaml) and the checks ask this route.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use(notFound);
  app.use(errorHandler);
  return app;
}
