import { DataTypes, fn, type QueryInterface } from 'sequelize';

// A migration changes the schema one step forward (up) or back (down). Once
// applied, it is never edited: a later change to the table is a new file.
type Params = { context: QueryInterface };

export async function up({ context: queryInterface }: Params): Promise<void> {
  await queryInterface.createTable('records', {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    // JSONB: Postgres checks that it is JSON and stores it parsed, so that
    // later you can query inside it (WHERE data->>'title' = 'Test').
    data: { type: DataTypes.JSONB, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false, defaultValue: fn('now') },
    updated_at: { type: DataTypes.DATE, allowNull: false, defaultValue: fn('now') },
  });
}

export async function down({ context: queryInterface }: Params): Promise<void> {
  await queryInterface.dropTable('records');
}
