// A tiny DNS server on loopback for tests of DNS-based service discovery.
// Inside compose, Docker's own DNS server (127.0.0.11) answers a service name
// with the addresses of all its containers; this one answers the names a test
// gives it, with the addresses the test sets, and a test changes them while it
// runs (a replica starts, a replica goes away). Only A records (IPv4), which
// is all that discovery asks for; like Docker's, its answers live 600 s, so a
// resolver that cached them would show up as a stale test.
import { createSocket } from 'node:dgram';

export interface TestDnsServer {
  /** "127.0.0.1:PORT", for dns.Resolver.setServers() (the proxy's UPSTREAM_DNS). */
  readonly address: string;
  /** What `name` resolves to from now on; no addresses means "no such name". */
  set(name: string, addresses: string[]): void;
  /** How many questions it has answered so far. */
  queries(): number;
  /** Stops answering (a DNS server that is down); closing twice is fine. */
  close(): Promise<void>;
}

const TYPE_A = 1;
const CLASS_IN = 1;
const TTL_SECONDS = 600;

export async function startDnsServer(): Promise<TestDnsServer> {
  const zone = new Map<string, string[]>();
  let answered = 0;
  let closed = false;
  const socket = createSocket('udp4');
  socket.on('message', (query, from) => {
    const reply = answer(query, zone);
    if (!reply) return;
    answered++;
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    set: (name, addresses) => zone.set(name.toLowerCase(), [...addresses]),
    queries: () => answered,
    close: async () => {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

/** The response to one query, or undefined for a packet that is not a plain question. */
function answer(query: Buffer, zone: Map<string, string[]>): Buffer | undefined {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return undefined;
  // The question: the name as length-prefixed labels up to a zero byte, then type and class.
  const labels: string[] = [];
  let offset = 12;
  while (offset < query.length && query[offset] !== 0) {
    const length = query[offset] as number;
    labels.push(query.toString('latin1', offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  const questionEnd = offset + 5;
  if (questionEnd > query.length) return undefined;
  const type = query.readUInt16BE(offset + 1);
  const addresses = zone.get(labels.join('.').toLowerCase()) ?? [];
  const records = type === TYPE_A ? addresses : [];

  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // the id the resolver matches answers with
  const recursionDesired = (query[2] as number) & 0x01;
  header[2] = 0x80 | recursionDesired; // a response
  header[3] = 0x80 | (addresses.length === 0 ? 3 : 0); // recursion available; NXDOMAIN if unknown
  header.writeUInt16BE(1, 4); // one question
  header.writeUInt16BE(records.length, 6);

  const answers = records.map((address) => {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(TYPE_A, 2);
    record.writeUInt16BE(CLASS_IN, 4);
    record.writeUInt32BE(TTL_SECONDS, 6);
    record.writeUInt16BE(4, 10);
    address.split('.').forEach((part, i) => {
      record[12 + i] = Number(part);
    });
    return record;
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...answers]);
}
