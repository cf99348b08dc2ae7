import { DataTypes, type QueryInterface } from 'sequelize';

// The worker notes here when it has archived a record, and in which file.
// A new file, not an edit of 0001: databases that already ran 0001 get
// only this step.
type Params = { context: QueryInterface };

export async function up({ context: queryInterface }: Params): Promise<void> {
  // NULL until the worker has written the archive file.
  await queryInterface.addColumn('records', 'archived_at', { type: DataTypes.DATE, allowNull: true });
  await queryInterface.addColumn('records', 'archive_file', { type: DataTypes.STRING, allowNull: true });
}

export async function down({ context: queryInterface }: Params): Promise<void> {
  await queryInterface.removeColumn('records', 'archive_file');
  await queryInterface.removeColumn('records', 'archived_at');
}
