import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDataSourceOptions } from '../../src/database/data-source.options';
import { createTestDatabase } from '../support/database';

/**
 * The schema comes from migrations only; the entities must still describe it exactly
 * (same columns, indexes, foreign keys and checks, by name), or a generated migration
 * would quietly undo a hand-written one (e.g. re-add the dropped price_history key).
 */
describe('schema', () => {
  let ds: DataSource;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    ds = new DataSource({ ...buildDataSourceOptions(db.url), migrationsRun: false } as ConstructorParameters<typeof DataSource>[0]);
    await ds.initialize();
    await ds.runMigrations();
  });
  afterAll(async () => {
    await ds?.destroy();
    await drop?.();
  });
  it('the entities and the migrations describe the same schema', async () => {
    const sql = await ds.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((q) => q.query)).toEqual([]);
  });
});
