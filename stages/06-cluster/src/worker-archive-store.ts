// Where the archives go. In stage 05 they were files in a volume, and a volume
// belongs to one machine: a worker on another node wrote into another volume,
// and nobody saw the whole archive. Here the store is a service that every node
// reaches over the network. Behind this small interface it could be an object
// store (S3, see docs/06-cluster.md); here it is Postgres, the one shared
// service we already run, which also gives us something S3 cannot: the
// archive and the record's `archived_at` committed in ONE transaction.
import { QueryTypes, type Transaction } from 'sequelize';
import type { Database } from './db.ts';

// #region interface
export interface ArchiveStore {
  /**
   * Keeps `bytes` as the archive `name` of record `id` and notes the record as
   * archived, both or neither. A second call for the same record (a retry,
   * another worker after a crash) changes nothing and resolves false.
   */
  put(id: number, name: string, bytes: Buffer): Promise<boolean>;
  /** The bytes of a record's archive, or undefined when it has none (yet). */
  get(id: number): Promise<Buffer | undefined>;
}
// #endregion interface

// #region postgres
/** The archives in the table `archives` (migration 0004), next to the records. */
export function postgresArchiveStore(db: Database): ArchiveStore {
  const { sequelize } = db;
  return {
    put: (id, name, bytes) =>
      sequelize.transaction(async (transaction: Transaction) => {
        // ON CONFLICT DO NOTHING: the first archive of a record stays, exactly once.
        const [, inserted] = await sequelize.query(
          `INSERT INTO archives (record_id, file, bytes) VALUES ($1, $2, $3)
           ON CONFLICT (record_id) DO NOTHING`,
          { bind: [id, name, bytes], type: QueryTypes.INSERT, transaction },
        );
        // `archived_at IS NULL`: a second try keeps the first time.
        await sequelize.query(
          'UPDATE records SET archived_at = now(), archive_file = $2 WHERE id = $1 AND archived_at IS NULL',
          { bind: [id, name], type: QueryTypes.UPDATE, transaction },
        );
        return inserted === 1;
      }),
    get: async (id) => {
      const rows = await sequelize.query<{ bytes: Buffer }>(
        'SELECT bytes FROM archives WHERE record_id = $1',
        { bind: [id], type: QueryTypes.SELECT },
      );
      return rows[0]?.bytes;
    },
  };
}
// #endregion postgres
