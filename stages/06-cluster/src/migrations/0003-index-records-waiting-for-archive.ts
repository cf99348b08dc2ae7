import type { QueryInterface } from 'sequelize';

// The worker's reconciler (src/worker-reconciler.ts) asks, every few seconds, for
// the records whose archive is still to be made: archived_at IS NULL. A
// partial index holds only those rows, so the question stays cheap however
// many records are archived already, and the index stays small: a row leaves
// it when its archived_at is set.
type Params = { context: QueryInterface };

const NAME = 'records_waiting_for_archive';

export async function up({ context: queryInterface }: Params): Promise<void> {
  // CREATE INDEX records_waiting_for_archive ON records (id) WHERE archived_at IS NULL
  await queryInterface.addIndex('records', ['id'], { name: NAME, where: { archived_at: null } });
}

export async function down({ context: queryInterface }: Params): Promise<void> {
  await queryInterface.removeIndex('records', NAME);
}
