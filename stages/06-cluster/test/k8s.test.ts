import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';

// No Kubernetes control plane runs here: the manifests in k8s/ are checked
// offline, against the API's schemas (scripts/validate-k8s.ts, with
// kubernetes-models, run by Node as an attendee would), and for what this
// system needs of them (probes, resources, the secrets where the code reads them).
const dir = join(__dirname, '..', 'k8s');
const validate = (folder: string) =>
  spawnSync(process.execPath, [join(__dirname, '..', 'scripts', 'validate-k8s.ts'), folder], {
    encoding: 'utf8',
  });
interface Container {
  name: string;
  image: string;
  env?: { name: string; value: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
  resources?: { limits?: { memory?: string } };
  readinessProbe?: object;
  livenessProbe?: object;
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; secret: { items?: { path: string }[] } }[];
}
type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  // biome-ignore lint/suspicious/noExplicitAny: the specs of several kinds, read as plain YAML
  spec?: any;
};

const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'));
const manifests: Manifest[] = readdirSync(dir)
  .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
  .flatMap((file) => parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => doc.toJS()));
const workloads = manifests.filter((m) => ['Deployment', 'StatefulSet', 'Job'].includes(m.kind));
const containers = workloads.flatMap((w) =>
  (w.spec.template.spec as PodSpec).containers.map((container) => ({ workload: w, container })),
);

it('every manifest is valid against the Kubernetes API schema of its kind', () => {
  const run = validate(dir);
  const lines = run.stdout.trim().split('\n');
  expect(lines.filter((l) => !l.startsWith('valid '))).toEqual([]);
  expect(lines).toHaveLength(manifests.length);
  expect(run.status).toBe(0);
});

it('the validation catches a broken manifest (so that the test above can fail)', () => {
  const copy = mkdtempSync(join(tmpdir(), 'k8s-'));
  try {
    for (const file of readdirSync(dir)) copyFileSync(join(dir, file), join(copy, file));
    const web = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'web') as Manifest;
    writeFileSync(join(copy, 'web.yaml'), stringify({ ...web, spec: { ...web.spec, replicas: 'four' } }));
    const run = validate(copy);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/INVALID {2}web\.yaml: Deployment web: .*replicas/);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

it('kustomization lists every file, and its secret comes from the files of secrets/', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  expect([...kustomization.resources].sort()).toEqual(files.sort());
  const sources = kustomization.secretGenerator[0].files.map((f: string) => f.split('=')[1]);
  expect(sources).toEqual([
    '../secrets/db-password',
    '../secrets/redis-password',
    '../secrets/jwt-public.pem',
  ]);
});

it('has what the stack has: web, proxy, worker, dashboard, a migrate Job, db and redis with claims', () => {
  const kinds = Object.fromEntries(workloads.map((w) => [w.metadata.name, w.kind]));
  expect(kinds).toEqual({
    dashboard: 'Deployment',
    db: 'StatefulSet',
    migrate: 'Job',
    proxy: 'Deployment',
    redis: 'StatefulSet',
    web: 'Deployment',
    worker: 'Deployment',
  });
  for (const name of ['db', 'redis']) {
    const set = workloads.find((w) => w.metadata.name === name) as Manifest;
    expect(set.spec.volumeClaimTemplates).toHaveLength(1);
  }
});

it('every container has resources and a probe (one-shots aside), and a rolling update that keeps capacity', () => {
  for (const { workload, container } of containers) {
    expect([container.name, container.resources?.limits?.memory]).toEqual([
      container.name,
      expect.any(String),
    ]);
    if (workload.kind !== 'Job') {
      expect([container.name, !!(container.readinessProbe ?? container.livenessProbe)]).toEqual([
        container.name,
        true,
      ]);
    }
  }
  const web = workloads.find((w) => w.metadata.name === 'web') as Manifest;
  expect(web.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
});

it('every *_FILE the programs read is a file that a mounted secret provides', () => {
  const provided = kustomization.secretGenerator[0].files.map((f: string) => f.split('=')[0]);
  for (const { workload, container } of containers) {
    const files = (container.env ?? []).filter((e) => e.name.endsWith('_FILE')).map((e) => e.value);
    const mount = (container.volumeMounts ?? []).find((m) => m.name === 'secrets');
    const volume = (workload.spec.template.spec as PodSpec).volumes?.find((v) => v.name === 'secrets');
    const keys = volume?.secret.items?.map((i) => i.path) ?? provided;
    for (const file of files) {
      expect([container.name, file]).toEqual([
        container.name,
        `${mount?.mountPath}/${file.split('/').at(-1)}`,
      ]);
      expect([container.name, keys]).toEqual([
        container.name,
        expect.arrayContaining([file.split('/').at(-1)]),
      ]);
    }
    // No password in plain sight.
    expect(JSON.stringify(container.env ?? [])).not.toMatch(/PASSWORD"?,\s*"?value|:[^@/"]+@/);
  }
});

it('names the images the stack names: ours from the registry, the others from Docker Hub', () => {
  const images = new Set(containers.map(({ container }) => container.image));
  expect([...images].sort()).toEqual([
    'postgres:17-bookworm',
    'redis:7-bookworm',
    'registry:5000/workshop/web:latest',
  ]);
  expect(existsSync(join(dir, '..', 'stack.yaml'))).toBe(true);
});
