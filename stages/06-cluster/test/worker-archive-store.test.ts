import { inflateSync } from 'node:zlib';
import { createTestDatabase, type TestDatabase } from '../../../testing/isolation.ts';
import { createDatabase, type Database } from '../src/db.ts';
import { createMigrator } from '../src/migrator.ts';
import { compress } from '../src/worker-archive-file.ts';
import { postgresArchiveStore } from '../src/worker-archive-store.ts';

// The archive store on a real Postgres: the archive and archived_at together,
// exactly once, whoever stores it and however often.
let testDatabase: TestDatabase;
let db: Database;

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => {});
  testDatabase = await createTestDatabase();
  db = createDatabase(testDatabase.url);
  await createMigrator(db.sequelize).up();
});
afterAll(async () => {
  await db.close();
  await testDatabase.drop();
  jest.restoreAllMocks();
});

async function newRecord(): Promise<number> {
  return (await db.Record.create({ data: { title: 'Test' } })).get('id') as number;
}

it('keeps the bytes and marks the record archived, in one step', async () => {
  const store = postgresArchiveStore(db);
  const id = await newRecord();
  const bytes = await compress(JSON.stringify({ id, data: { title: 'Test' } }));
  expect(await store.put(id, `record-${id}.json.zz`, bytes)).toBe(true);
  const row = (await db.Record.findByPk(id))?.get();
  expect(row?.archiveFile).toBe(`record-${id}.json.zz`);
  expect(row?.archivedAt).toBeInstanceOf(Date);
  expect(JSON.parse(inflateSync((await store.get(id)) as Buffer).toString())).toEqual({
    id,
    data: { title: 'Test' },
  });
});

it('stores a record once, even when eight workers store it at the same time', async () => {
  const store = postgresArchiveStore(db);
  const id = await newRecord();
  const bytes = await compress('{}');
  const written = await Promise.all(
    Array.from({ length: 8 }, () => store.put(id, `record-${id}.json.zz`, bytes)),
  );
  expect(written.filter(Boolean)).toHaveLength(1);
  const [rows] = await db.sequelize.query(`SELECT count(*)::int AS n FROM archives WHERE record_id = ${id}`);
  expect(rows).toEqual([{ n: 1 }]);
});

it('keeps the first archived_at when a second try comes', async () => {
  const store = postgresArchiveStore(db);
  const id = await newRecord();
  await store.put(id, `record-${id}.json.zz`, await compress('{}'));
  const first = (await db.Record.findByPk(id))?.get('archivedAt');
  expect(await store.put(id, `record-${id}.json.zz`, await compress('{}'))).toBe(false);
  expect((await db.Record.findByPk(id))?.get('archivedAt')).toEqual(first);
});

it('marks nothing when the archive cannot be stored (no such record): both or neither', async () => {
  const store = postgresArchiveStore(db);
  await expect(store.put(2_000_000_000, 'record-2000000000.json.zz', Buffer.from('x'))).rejects.toThrow();
  expect(await store.get(2_000_000_000)).toBeUndefined();
});

it('has nothing for a record not archived yet', async () => {
  expect(await postgresArchiveStore(db).get(await newRecord())).toBeUndefined();
});
