import pg from 'pg';
import {
  ConnectionError,
  DatabaseError,
  DataTypes,
  type Model,
  type ModelStatic,
  Sequelize,
} from 'sequelize';
import { DependencyDownError } from './errors.ts';

/** What a client may store: any JSON object. */
export type JsonObject = { [key: string]: unknown };

/** A row of the `records` table, as the API shows it. */
export interface RecordAttributes {
  id: number;
  data: JsonObject;
}
/** What the worker notes once the record is archived (NULL until then). */
export interface ArchiveColumns {
  archivedAt: Date | null;
  archiveFile: string | null;
}
/** Postgres picks the id (a `serial`) and the timestamps; we only bring the data. */
export type RecordRow = Model<RecordAttributes & ArchiveColumns, Pick<RecordAttributes, 'data'>>;
export type RecordModel = ModelStatic<RecordRow>;

export interface Database {
  readonly sequelize: Sequelize;
  readonly Record: RecordModel;
  /** Resolves when Postgres answers a `SELECT 1`, rejects (like a query would) when it does not. */
  ping(): Promise<void>;
  /** For `.catch()`: a query that failed because Postgres is out of reach becomes a 503 naming `db`. */
  unavailable(err: unknown): never;
  close(): Promise<void>;
}

/**
 * Sequelize keeps a pool of connections to Postgres and hands one to each
 * query. An outage shows at once, without any timeout: a stopped server
 * refuses new connections (or its name no longer resolves) and breaks the
 * open ones, so the query fails right away, and the next one simply tries a
 * new connection. The timeouts are for a server that is there but slow, and
 * they are generous: on a busy laptop a healthy Postgres can take a second
 * or two, and a timeout that trips then is a 503 for nothing.
 */
export function createDatabase(url: string, applicationName = 'web'): Database {
  const sequelize = new Sequelize(url, {
    dialect: 'postgres',
    dialectModule: { ...pg, Client: GuardedClient },
    logging: false,
    pool: {
      max: 10,
      // Wait at most 3 s for a free connection, or a new one. With the
      // statement timeout below, a request has its answer within 3 + 5 s,
      // before a client (or a proxy) that waits 10 s gives up on it.
      acquire: 3000,
      idle: 10_000,
    },
    dialectOptions: {
      // Shows up in Postgres's pg_stat_activity: handy when you look around.
      application_name: applicationName,
      // A new connection (TCP, a new Postgres process, the password check)
      // may take seconds on a loaded machine; 800 ms here gave 503s with
      // every service up.
      connectionTimeoutMillis: 3000,
      // Postgres itself cancels a statement that runs longer than 5 s, and
      // rolls it back: the 503 that follows means nothing was stored...
      statement_timeout: 5000,
      // ...and the client gives up only on a server that does not answer at
      // all, 2 s after Postgres would have cancelled. The other way round, the
      // client could give up on an INSERT that Postgres commits a moment
      // later: a 503 for a record that is stored.
      query_timeout: 7000,
    },
  });

  const Record: RecordModel = sequelize.define(
    'Record',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      data: { type: DataTypes.JSONB, allowNull: false },
      archivedAt: { type: DataTypes.DATE, allowNull: true },
      archiveFile: { type: DataTypes.STRING, allowNull: true },
    },
    // The table comes from the migrations (src/migrations/); `underscored`
    // maps createdAt/archivedAt/... to its created_at/archived_at/... columns.
    { tableName: 'records', underscored: true },
  );

  const where = describe(url);
  let up: boolean | undefined;
  // One line when the database goes away and one when it is back, not one per failed query.
  sequelize.addHook('afterConnect', () => {
    if (up !== true) console.log(`db: connected to ${where}`);
    up = true;
  });
  const unavailable = (err: unknown): never => {
    if (!isOutage(err)) throw err;
    if (up !== false)
      console.warn(`db: ${where} is unavailable (${(err as Error).message}); each request tries again`);
    up = false;
    throw new DependencyDownError('db', 'The database is unavailable; try again in a moment', err);
  };

  return {
    sequelize,
    Record,
    ping: async () => {
      await sequelize.query('SELECT 1').catch(unavailable);
    },
    unavailable,
    close: () => sequelize.close(),
  };
}

/** Did the query fail because Postgres is out of reach (and not because of the query)? */
function isOutage(err: unknown): boolean {
  // Refused, unknown host, no free connection in time, ...
  if (err instanceof ConnectionError) return true;
  // Sequelize wraps what the driver says about our queries (as `parent`)...
  if (err instanceof DatabaseError) return isLostServer(err.parent);
  // ...but not about the statements it sends itself on a new connection (SET
  // TIME ZONE ...): a connection that breaks then reaches us as the driver's error.
  return isFromDriver(err) && isLostServer(err);
}

/** An error of pg's: one that Postgres sent, or the client's own about its connection. */
function isFromDriver(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return true;
  const ownMessage = /^(Connection terminated|Client has encountered a connection error|Query read timeout)/;
  return err instanceof Error && ownMessage.test(err.message);
}

function isLostServer(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  // No SQLSTATE code: the client itself lost the connection or gave up
  // waiting. 08: connection exception; 53: out of connections or memory;
  // 57: the server shuts down, or cancelled the query (statement_timeout).
  return code === undefined || /^(08|53|57)/.test(String(code));
}

/** host:port/database, without the user and password: for the logs. */
function describe(url: string): string {
  const { hostname, port, pathname } = new URL(url);
  return `${hostname}:${port || 5432}${pathname}`;
}

/**
 * A connection that Postgres drops while it is being opened (say, the server
 * shuts down at that moment) can report the error before Sequelize has put
 * its own listener on it, and an 'error' event that nobody hears ends the
 * process. This listener, there from the start, makes it one more failed query.
 */
class GuardedClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => {});
  }
}
