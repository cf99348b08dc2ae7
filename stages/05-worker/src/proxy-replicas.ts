// The replicas the proxy knows about, and which one gets the next request.
// No network code here: proxy-discovery.ts tells the pool which replicas exist,
// proxy-forward.ts and proxy-health.ts tell it how they behave, and the pool only keeps
// the books and takes turns (round robin).

// up: in the rotation. draining: stopping (its /healthz says so), still
// serving, out of the rotation. down: it failed a request.
export type ReplicaState = 'up' | 'draining' | 'down';

export interface Replica {
  /** "ip:port", as discovery found it: the key of the replica. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** What the replica calls itself (its X-Served-By header; in Docker, the container id). */
  name: string | null;
  state: ReplicaState;
  /** Requests sent to it (retries included). */
  requests: number;
  /** Of those, the ones it refused, dropped or did not answer in time. */
  failures: number;
  /** Why it went down the last time, for GET /__lb. */
  lastError: string | null;
}

export interface PoolChange {
  added: string[];
  removed: string[];
}

export class ReplicaPool {
  #replicas: Replica[] = [];
  #turn = 0;

  /** Replaces the set of replicas with what discovery found; the ones that stay keep their state. */
  update(addresses: string[]): PoolChange {
    const wanted = [...new Set(addresses)].sort();
    const known = new Map(this.#replicas.map((replica) => [replica.address, replica]));
    const added = wanted.filter((address) => !known.has(address));
    const removed = this.#replicas.map((r) => r.address).filter((address) => !wanted.includes(address));
    // A new replica is trusted at once: if it is not ready yet, its first
    // request fails to connect, is retried elsewhere, and it goes down until
    // it answers its health probe.
    this.#replicas = wanted.map((address) => known.get(address) ?? newReplica(address));
    return { added, removed };
  }

  /**
   * The replica for the next request: the next one in turn that is up and
   * not in `tried`. When no replica is up, one that is draining or down: a
   * request is worth a try if the other choice is an error, and a replica
   * that was down and answers it is up again.
   */
  next(tried: ReadonlySet<Replica> = new Set()): Replica | undefined {
    const candidates = this.#replicas.filter((replica) => !tried.has(replica));
    const up = candidates.filter((replica) => replica.state === 'up');
    const choices = up.length > 0 ? up : candidates;
    if (choices.length === 0) return undefined;
    this.#turn = (this.#turn + 1) % Number.MAX_SAFE_INTEGER;
    const replica = choices[this.#turn % choices.length] as Replica;
    replica.requests++;
    return replica;
  }

  /**
   * The replica answered a request: if it was down, it is up again. Returns
   * true if that is news. (A draining replica answers too, and stays out.)
   */
  succeeded(replica: Replica, name?: string): boolean {
    if (name) replica.name = name;
    if (replica.state !== 'down') return false;
    replica.state = 'up';
    return true;
  }

  /** Its health probe says it is there and not stopping: up, whatever it was. Returns true if that is news. */
  healthy(replica: Replica, name?: string): boolean {
    if (name) replica.name = name;
    const wasOut = replica.state !== 'up';
    replica.state = 'up';
    return wasOut;
  }

  /** Its health probe says it is stopping: out of the rotation. Returns true if that is news. */
  draining(replica: Replica): boolean {
    const wasIn = replica.state !== 'draining';
    replica.state = 'draining';
    return wasIn;
  }

  /** The replica failed a request: out of the rotation. Returns true if that is news. */
  failed(replica: Replica, reason: string): boolean {
    replica.failures++;
    const wasUp = replica.state === 'up';
    replica.state = 'down';
    replica.lastError = reason;
    return wasUp;
  }

  has(replica: Replica): boolean {
    return this.#replicas.includes(replica);
  }

  list(): readonly Replica[] {
    return this.#replicas;
  }
}

function newReplica(address: string): Replica {
  const colon = address.lastIndexOf(':');
  return {
    address,
    host: address.slice(0, colon),
    port: Number(address.slice(colon + 1)),
    name: null,
    state: 'up',
    requests: 0,
    failures: 0,
    lastError: null,
  };
}
