// Which replicas exist? Docker answers that through DNS: inside a compose
// network the service name (`web`) resolves to the address of every running
// container of that service, and the answer changes as soon as a container
// starts or stops. So the proxy simply asks again every few seconds.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Every replica of the service `host`, as "ip:port". */
export type Resolve = (host: string, port: number) => Promise<string[]>;

// resolve4() asks the DNS server each time (lookup() would go through the C
// library and /etc/hosts); in compose, that server is Docker's.
const resolver = new Resolver({ timeout: 1_000, tries: 2 });

/**
 * Asks DNS for the addresses of `host`; an IP address is one replica (handy
 * outside Docker). DNS answers carry no ports: every replica listens on the same one.
 */
export async function resolveWithDns(host: string, port: number): Promise<string[]> {
  const ips = isIP(host) ? [host] : await resolver.resolve4(host);
  return ips.map((ip) => `${ip}:${port}`);
}

export interface DiscoveryOptions {
  /** The service name to resolve ("web"), or an IPv4 address. */
  host: string;
  /** The port every replica listens on. */
  port: number;
  intervalMs: number;
  /** How to find the replicas: DNS, unless the caller has another way (the tests do). */
  resolve?: Resolve;
  /** Called after every successful lookup with every replica's "ip:port". */
  onResolved: (addresses: string[]) => void;
  /** Called when a lookup failed and the last known replicas stay in use. */
  onError: (err: Error) => void;
}

export interface Discovery {
  /** Resolves once, now (the proxy does that before it starts listening). */
  refresh(): Promise<void>;
  stop(): void;
}

// "This name has no addresses right now" (the service is scaled to 0): the
// replica list is empty. Any other error (DNS server slow or unreachable)
// says nothing about the replicas, so the last list stays.
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'ENODATA']);

export function startDiscovery(options: DiscoveryOptions): Discovery {
  const resolve = options.resolve ?? resolveWithDns;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const refresh = async () => {
    try {
      const addresses = await resolve(options.host, options.port);
      if (!stopped) options.onResolved(addresses);
    } catch (err) {
      if (stopped) return; // the answer came after stop(): nobody is listening
      if (NO_SUCH_NAME.has((err as NodeJS.ErrnoException).code ?? '')) options.onResolved([]);
      else options.onError(err as Error);
    }
  };

  // One lookup at a time: the next one is planned when the last one is done.
  const loop = async () => {
    await refresh();
    if (!stopped) timer = setTimeout(loop, options.intervalMs);
  };
  timer = setTimeout(loop, options.intervalMs);

  return {
    refresh,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
