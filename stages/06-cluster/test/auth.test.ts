import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../../../testing/isolation.ts';
import { startRedis, type TestServer } from '../../../testing/services.ts';
import { AUDIENCE, ISSUER, mintToken } from '../scripts/keys.ts';
import { createApp } from '../src/app.ts';
import { publicKey } from '../src/auth.ts';
import { createDatabase, type Database } from '../src/db.ts';
import { createMigrator } from '../src/migrator.ts';
import { type ArchiveQueue, createArchiveQueue } from '../src/queue.ts';
import { closeRedis, createRedis } from '../src/redis.ts';

// The write API with a real key pair, Redis and Postgres: which tokens pass,
// and what a client is told about the ones that do not.
const pem = (key: { export(o: object): string | Buffer }, type: string) =>
  key.export({ type, format: 'pem' }).toString();
const operator = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const privatePem = pem(operator.privateKey, 'pkcs8');

let redisServer: TestServer;
let redis: Redis;
let testDatabase: TestDatabase;
let db: Database;
let archive: ArchiveQueue;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => {});
  redisServer = await startRedis();
  redis = createRedis(redisServer.url);
  await once(redis, 'ready');
  testDatabase = await createTestDatabase();
  db = createDatabase(testDatabase.url);
  await createMigrator(db.sequelize).up();
  archive = createArchiveQueue(redis, { attempts: 5, backoffMs: 1000 });
  const key = await publicKey(pem(operator.publicKey, 'spki'));
  app = createApp({ redis, db, archive, auth: { key, rules: { issuer: ISSUER, audience: AUDIENCE } } });
});
afterAll(async () => {
  await archive.close();
  await closeRedis(redis);
  await redisServer.destroy();
  await db.close();
  await testDatabase.drop();
  jest.restoreAllMocks();
});

const post = (authorization?: string) => {
  const req = request(app).post('/records').set('content-type', 'application/json');
  return (authorization ? req.set('authorization', authorization) : req).send('{"title": "Test"}');
};

describe('POST /records', () => {
  it('creates the record with a token of scope records:write', async () => {
    const res = await post(`Bearer ${await mintToken(privatePem, ['records:write'])}`);
    expect(res.status).toBe(201);
    expect(res.body.data).toEqual({ title: 'Test' });
  });

  it.each([
    ['no token', async () => undefined, 'missing'],
    ['a token that is not a JWT', async () => 'Bearer abc.def', 'malformed'],
    [
      'a token signed by another key',
      async () => `Bearer ${await mintToken(pem(stranger.privateKey, 'pkcs8'), ['records:write'])}`,
      'forged',
    ],
    [
      'an expired token',
      async () =>
        `Bearer ${await mintToken(privatePem, ['records:write'], { expiresIn: Math.floor(Date.now() / 1000) - 120 })}`,
      'expired',
    ],
    [
      'a token for another audience',
      async () => `Bearer ${await mintToken(privatePem, ['records:write'], { audience: 'elsewhere' })}`,
      'claims',
    ],
    [
      'a token from another issuer',
      async () => `Bearer ${await mintToken(privatePem, ['records:write'], { issuer: 'someone' })}`,
      'claims',
    ],
  ])('answers 401 to %s, with the reason, and stores nothing', async (_what, header, reason) => {
    const before = (await request(app).get('/records?limit=100')).body.results.length;
    const res = await post(await header());
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body).toEqual({ error: expect.any(String), reason });
    expect((await request(app).get('/records?limit=100')).body.results.length).toBe(before);
  });

  it('answers 403 "scope" to a good token that does not allow writing', async () => {
    const res = await post(`Bearer ${await mintToken(privatePem, ['dashboard'])}`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      error: 'This token does not allow records:write (its scope: dashboard)',
      reason: 'scope',
    });
  });

  it('never repeats the token in its answer', async () => {
    const token = await mintToken(pem(stranger.privateKey, 'pkcs8'), ['records:write']);
    const res = await post(`Bearer ${token}`);
    expect(res.text).not.toContain(token.split('.')[2]);
  });
});

describe('reads', () => {
  it('need no token', async () => {
    const created = await post(`Bearer ${await mintToken(privatePem, ['records:write'])}`);
    expect((await request(app).get(`/records/${created.body.id}`)).status).toBe(200);
    expect((await request(app).get('/records')).status).toBe(200);
    expect((await request(app).get(`/records/${created.body.id}/archive`)).status).toBe(200);
  });
});
