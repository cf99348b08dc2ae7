import { type Replica, ReplicaPool } from '../src/proxy-replicas.ts';

const A = '10.0.0.1:8080';
const B = '10.0.0.2:8080';
const C = '10.0.0.3:8080';

function picks(pool: ReplicaPool, count: number, tried?: Set<Replica>): string[] {
  return Array.from({ length: count }, () => pool.next(tried)?.address ?? 'none');
}

describe('stage 04: the replica pool', () => {
  test('takes turns, one replica after the other', () => {
    const pool = new ReplicaPool();
    pool.update([C, A, B]);
    const round = picks(pool, 3);
    expect(round.toSorted()).toEqual([A, B, C]);
    expect(picks(pool, 6)).toEqual([...round, ...round]);
    expect(pool.list().map((replica) => replica.requests)).toEqual([3, 3, 3]);
  });

  test('skips a replica that failed, until it succeeds again', () => {
    const pool = new ReplicaPool();
    pool.update([A, B, C]);
    const b = pool.list()[1] as Replica;
    expect(pool.failed(b, 'connect ECONNREFUSED')).toBe(true);
    expect(pool.failed(b, 'connect ECONNREFUSED')).toBe(false); // not news any more
    expect(picks(pool, 6)).not.toContain(B);
    expect(b).toMatchObject({ state: 'down', failures: 2, lastError: 'connect ECONNREFUSED' });

    expect(pool.succeeded(b, 'container-b')).toBe(true);
    expect(picks(pool, 6)).toContain(B);
    expect(b).toMatchObject({ state: 'up', name: 'container-b' });
  });

  test('a draining replica is out of the rotation: its own answers do not bring it back, a healthy probe does', () => {
    const pool = new ReplicaPool();
    pool.update([A, B, C]);
    const b = pool.list()[1] as Replica;
    expect(pool.draining(b)).toBe(true);
    expect(pool.draining(b)).toBe(false); // not news any more
    expect(picks(pool, 6)).not.toContain(B);
    // It still answers the requests it has: that does not make it up.
    expect(pool.succeeded(b, 'container-b')).toBe(false);
    expect(b).toMatchObject({ state: 'draining', failures: 0, name: 'container-b' });
    // Its health probe says it is fine after all.
    expect(pool.healthy(b)).toBe(true);
    expect(picks(pool, 6)).toContain(B);
  });

  test('never offers a replica that this request already tried', () => {
    const pool = new ReplicaPool();
    pool.update([A, B, C]);
    const tried = new Set<Replica>();
    for (let i = 0; i < 3; i++) tried.add(pool.next(tried) as Replica);
    expect([...tried].map((replica) => replica.address).toSorted()).toEqual([A, B, C]);
    expect(pool.next(tried)).toBeUndefined();
  });

  test('when every replica is down, offers one anyway: an answer is better than a sure error', () => {
    const pool = new ReplicaPool();
    pool.update([A, B]);
    for (const replica of pool.list()) pool.failed(replica, 'gone');
    expect(picks(pool, 2).toSorted()).toEqual([A, B]);
  });

  test('follows discovery: new addresses join (up), missing ones leave, the others keep their state', () => {
    const pool = new ReplicaPool();
    pool.update([A, B]);
    const a = pool.list()[0] as Replica;
    pool.failed(a, 'gone');
    expect(pool.update([A, C])).toEqual({ added: [C], removed: [B] });
    expect(pool.list().map((replica) => [replica.address, replica.state])).toEqual([
      [A, 'down'],
      [C, 'up'],
    ]);
    expect(pool.list()[0]).toBe(a);
    expect(pool.has(a)).toBe(true);
    expect(pool.update([])).toEqual({ added: [], removed: [A, C] });
    expect(pool.next()).toBeUndefined();
  });
});
