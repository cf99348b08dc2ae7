import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../testing/isolation.ts';
import { freePort, startPostgres } from '../../../testing/services.ts';
import { runStage, runStageToExit } from '../../../testing/stage-process.ts';

const STAGE = '03-db';

let testDatabase: TestDatabase;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
});
afterAll(async () => {
  await testDatabase.drop();
});

function migrate(env: Record<string, string>) {
  return runStageToExit(STAGE, { script: 'src/migrate.ts', env });
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

describe('stage 03: node src/migrate.ts (the migrate service)', () => {
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

  test('no Postgres to talk to: it waits (MIGRATE_WAIT_MS), then exit 1 with a message, so that compose does not start web', async () => {
    const { code, output } = await migrate({
      DATABASE_URL: `postgres://workshop@127.0.0.1:${await freePort()}/x`,
      MIGRATE_WAIT_MS: '3000',
    });
    expect(output).toMatch(
      /migrate: waiting for the database \(connect ECONNREFUSED 127\.0\.0\.1:\d+\); 0 s so far/,
    );
    expect(output).toMatch(
      /migrate: failed: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(gave up after \d s of waiting for the database, MIGRATE_WAIT_MS\)/,
    );
    expect(code).toBe(1);
  });

  test('a Postgres that is not up yet: it waits, says so, and migrates once Postgres is there', async () => {
    const late = await startPostgres();
    try {
      await late.stop();
      const child = await runStage(STAGE, {
        script: 'src/migrate.ts',
        env: { DATABASE_URL: late.url },
        ready: /migrate: waiting for the database \(connect ECONNREFUSED/,
      });
      await late.start();
      expect(await child.exited).toBe(0);
      expect(child.output()).toContain('migrate: applied 0001-create-records');
    } finally {
      await late.destroy();
    }
  });

  test('a database that does not exist: exit 1 at once, since waiting will not help', async () => {
    const url = new URL(testDatabase.url);
    url.pathname = '/no_such_database';
    const { code, output } = await migrate({ DATABASE_URL: url.toString() });
    expect(output).toContain('migrate: failed: database "no_such_database" does not exist');
    expect(output).not.toContain('waiting');
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
