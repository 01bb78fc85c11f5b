import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigratedDataSource } from '../support/database';

/**
 * The schema comes from migrations only; the entities must still describe it exactly
 * (same columns, indexes, foreign keys and checks, by name), or a generated migration
 * would quietly undo a hand-written one (e.g. re-add the dropped price_history key).
 */
describe('schema', () => {
  let ds: DataSource;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ ds, close } = await createMigratedDataSource());
  });
  afterAll(async () => {
    await close?.();
  });
  it('the entities and the migrations describe the same schema', async () => {
    const sql = await ds.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((q) => q.query)).toEqual([]);
  });
});
