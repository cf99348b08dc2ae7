import { DataTypes, fn, type QueryInterface } from 'sequelize';

// The archives move from a volume on one machine into the database that every
// machine reaches (src/worker-archive-store.ts): one row per record.
type Params = { context: QueryInterface };

export async function up({ context: queryInterface }: Params): Promise<void> {
  await queryInterface.createTable('archives', {
    // The primary key is the record's id: a record cannot have two archives.
    record_id: {
      type: DataTypes.INTEGER,
      primaryKey: true,
      references: { model: 'records', key: 'id' },
      onDelete: 'CASCADE',
    },
    file: { type: DataTypes.STRING, allowNull: false },
    // bytea: the compressed bytes as they are.
    bytes: { type: DataTypes.BLOB, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false, defaultValue: fn('now') },
  });
}

export async function down({ context: queryInterface }: Params): Promise<void> {
  await queryInterface.dropTable('archives');
}
