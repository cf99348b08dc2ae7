// The real proxy as a process of its own, as `node src/proxy.ts` runs it, with
// one difference: it finds its replicas in a file the test writes
// (REPLICAS_FILE, see cluster.ts) instead of in Docker's DNS, which a test
// does not have. On one machine the replicas differ by port, not by address.
import { readFile } from 'node:fs/promises';
import { loadProxyConfigOrExit } from '../src/proxy-config.ts';
import type { Resolve } from '../src/proxy-discovery.ts';
import { createProxy } from '../src/proxy-server.ts';

/** What the file holds: each name's replicas ("127.0.0.1:PORT"), or `down` when "DNS" is unreachable. */
export interface ReplicasFile {
  names: Record<string, string[]>;
  down: boolean;
}

const file = process.env.REPLICAS_FILE ?? '';

// Fails the way DNS fails: ENOTFOUND for a name with no replicas, ETIMEOUT when it is down.
const resolve: Resolve = async (host) => {
  const { names, down } = JSON.parse(await readFile(file, 'utf8')) as ReplicasFile;
  if (down) throw Object.assign(new Error(`queryA ETIMEOUT ${host}`), { code: 'ETIMEOUT' });
  const addresses = names[host] ?? [];
  if (addresses.length === 0)
    throw Object.assign(new Error(`queryA ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return addresses;
};

const proxy = await createProxy(loadProxyConfigOrExit(), resolve);
process.once('SIGTERM', () => proxy.shutdown('SIGTERM'));
process.once('SIGINT', () => proxy.shutdown('SIGINT'));
await proxy.listen();
