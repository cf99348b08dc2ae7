import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../testing/isolation.ts';
import { freePort } from '../../../testing/services.ts';
import { runStageToExit } from '../../../testing/stage-process.ts';

let testDatabase: TestDatabase;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
});
afterAll(async () => {
  await testDatabase.drop();
});

function migrate(env: Record<string, string>) {
  return runStageToExit('04-scale', { script: 'src/migrate.ts', env });
}

async function query(sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: testDatabase.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('stage 04: node src/migrate.ts (the migrate service)', () => {
  test('creates the records table, then exits 0', async () => {
    const { code, output } = await migrate({ DATABASE_URL: testDatabase.url });
    expect(output).toContain('migrate: applied 0001-create-records');
    expect(code).toBe(0);
    const columns = await query(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_name = 'records' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { column_name: 'id', data_type: 'integer', is_nullable: 'NO' },
      { column_name: 'data', data_type: 'jsonb', is_nullable: 'NO' },
      { column_name: 'created_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
      { column_name: 'updated_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
    ]);
  });

  test('a second run changes nothing and exits 0 too', async () => {
    await query(`INSERT INTO records (data) VALUES ('{"kept": true}')`);
    const { code, output } = await migrate({ DATABASE_URL: testDatabase.url });
    expect(output).toContain('migrate: the schema is up to date');
    expect(output).not.toContain('applied');
    expect(code).toBe(0);
    expect(await query('SELECT name FROM migrations')).toEqual([{ name: '0001-create-records' }]);
    expect(await query('SELECT data FROM records')).toEqual([{ data: { kept: true } }]);
  });

  test('no Postgres to talk to: exit 1 with a message, so that compose does not start web', async () => {
    const { code, output } = await migrate({
      DATABASE_URL: `postgres://workshop@127.0.0.1:${await freePort()}/x`,
    });
    expect(output).toMatch(/migrate: failed: connect ECONNREFUSED 127\.0\.0\.1:\d+/);
    expect(code).toBe(1);
  });

  test('a bad DATABASE_URL: exit 1 with a message that names it', async () => {
    const { code, output } = await migrate({ DATABASE_URL: 'mysql://db/workshop' });
    expect(output).toContain(
      'Configuration error: DATABASE_URL must be a URL that starts with postgres:// or postgresql://, got "mysql://db/workshop"',
    );
    expect(code).toBe(1);
  });
});
