import type { Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import * as createRecords from './migrations/0001-create-records.ts';
import * as addArchiveColumns from './migrations/0002-add-archive-columns.ts';
import * as indexWaitingForArchive from './migrations/0003-index-records-waiting-for-archive.ts';
import * as createArchives from './migrations/0004-create-archives.ts';

// Every migration, in order, imported by name: Node runs these .ts files as
// they are, and a list in the code cannot miss a file the way a search for
// "*.js" would. A new migration is a new file and a new line here.
export const migrations = [
  { name: '0001-create-records', ...createRecords },
  { name: '0002-add-archive-columns', ...addArchiveColumns },
  { name: '0003-index-records-waiting-for-archive', ...indexWaitingForArchive },
  { name: '0004-create-archives', ...createArchives },
];

/**
 * Umzug runs the migrations that have not run yet and notes each one in the
 * `migrations` table, so running it again changes nothing.
 */
export function createMigrator(sequelize: Sequelize) {
  return new Umzug({
    migrations,
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: 'migrations' }),
    logger: undefined,
  });
}
