import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { removePostgresTemplateImage } from './docker-servers.ts';
import type { TestServer } from './services.ts';

export default async function globalTeardown(): Promise<void> {
  const started = (globalThis as { workshopServers?: TestServer[] }).workshopServers ?? [];
  await Promise.all(started.map((server) => server.destroy()));
  const template = process.env.WORKSHOP_PG_TEMPLATE;
  if (template) rmSync(dirname(template), { recursive: true, force: true });
  await removePostgresTemplateImage();
}
