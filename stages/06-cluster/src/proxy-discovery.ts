// Which replicas exist? Docker answers that through DNS: inside a compose
// network the service name (`web`) resolves to the address of every running
// container of that service, and the answer changes as soon as a container
// starts or stops. So the proxy simply asks again every few seconds.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface DiscoveryOptions {
  /** The service name to resolve ("web"), or an IPv4 address (one replica, handy outside Docker). */
  host: string;
  /** The port every replica listens on; DNS A records carry no ports. */
  port: number;
  /** DNS servers to ask; none means the system's (/etc/resolv.conf: Docker's 127.0.0.11 in compose). */
  servers: string[];
  intervalMs: number;
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

// Errors that mean "this name has no addresses right now" (the service is
// scaled to 0): the replica list is empty. Any other error (DNS server slow
// or unreachable) says nothing about the replicas, so the last list stays.
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'ENODATA']);

export function startDiscovery(options: DiscoveryOptions): Discovery {
  // resolve4() asks the DNS server each time (lookup() would go through the C
  // library and /etc/hosts, and offers no way to name a server for tests).
  const resolver = new Resolver({ timeout: 1_000, tries: 2 });
  if (options.servers.length > 0) resolver.setServers(options.servers);

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const refresh = async () => {
    try {
      const ips = isIP(options.host) ? [options.host] : await resolver.resolve4(options.host);
      options.onResolved(ips.map((ip) => `${ip}:${options.port}`));
    } catch (err) {
      if (stopped) return; // cancelled by stop(): not a DNS problem
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
      resolver.cancel();
    },
  };
}
