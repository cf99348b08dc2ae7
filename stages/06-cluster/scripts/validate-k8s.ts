// Checks the manifests in k8s/ against the Kubernetes API's schemas, offline
// (no cluster needed): `node scripts/validate-k8s.ts [folder]`. Prints one line
// per object, and exits 1 when one is not valid.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { Namespace, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

const models: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'v1/Service': Service,
  'v1/Namespace': Namespace,
};

const dir = process.argv[2] ?? join(import.meta.dirname, '..', 'k8s');
let invalid = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
  for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
    const manifest = doc.toJS() as { apiVersion: string; kind: string; metadata?: { name?: string } };
    const what = `${file}: ${manifest.kind} ${manifest.metadata?.name}`;
    const Model = models[`${manifest.apiVersion}/${manifest.kind}`];
    try {
      if (!Model) throw new Error(`no schema here for ${manifest.apiVersion} ${manifest.kind}`);
      new Model(manifest as never).validate();
      console.log(`valid    ${what}`);
    } catch (err) {
      invalid++;
      console.log(`INVALID  ${what}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}
process.exit(invalid === 0 ? 0 : 1);
