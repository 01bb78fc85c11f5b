import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigratedDataSource } from '../support/database';
import { undoMigrationsThrough } from '../support/migrations';

const keyOf = (ds: DataSource) =>
  ds.query(
    `SELECT c.conname, c.contype, array_agg(a.attname::text ORDER BY k.i) AS cols
       FROM pg_constraint c
       CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, i)
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
      WHERE c.conrelid = 'price_history'::regclass AND c.contype IN ('p', 'u')
      GROUP BY 1, 2 ORDER BY 1`,
  ) as Promise<Array<{ conname: string; contype: string; cols: string[] }>>;
const indexes = (ds: DataSource) =>
  ds.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'price_history' ORDER BY 1`).then((r: { indexname: string }[]) => r.map((x) => x.indexname));
const rows = (ds: DataSource) =>
  ds.query(`SELECT asset_id, "interval", "timestamp", close::text FROM price_history ORDER BY 1, 2, 3`) as Promise<Record<string, unknown>[]>;

/** Migration 1764800000000: price_history keyed by (asset_id, "interval", "timestamp"), without the surrogate id. */
describe('migration 1764800000000: price_history natural key, and back', () => {
  let ds: DataSource;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ ds, close } = await createMigratedDataSource());
  });
  afterAll(async () => {
    await close?.();
  });

  it('up: one index (the primary key on the natural key), no id; down: id and the unique key again, rows kept both ways', async () => {
    await undoMigrationsThrough(ds, 'PriceHistoryNaturalKey1764800000000');
    const [{ id: assetId }] = (await ds.query(`INSERT INTO assets (symbol, name, asset_type) VALUES ('ZZKEY', 'Key test', 'STOCK') RETURNING id`)) as {
      id: number;
    }[];
    await ds.query(
      `INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close)
       VALUES ($1, '2026-01-02T00:00:00Z', '1d', 1, 2, 1, 2), ($1, '2026-01-02T10:00:00Z', 'tick', 3, 3, 3, 3)`,
      [assetId],
    );
    const before = await rows(ds);
    expect(await keyOf(ds)).toEqual([
      { conname: 'price_history_pkey', contype: 'p', cols: ['id'] },
      { conname: 'uq_price_history_asset_interval_ts', contype: 'u', cols: ['asset_id', 'interval', 'timestamp'] },
    ]);

    await ds.runMigrations();
    expect(await keyOf(ds)).toEqual([{ conname: 'pk_price_history', contype: 'p', cols: ['asset_id', 'interval', 'timestamp'] }]);
    expect(await indexes(ds)).toEqual(['pk_price_history']);
    expect(await ds.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'price_history' AND column_name = 'id'`)).toEqual([]);
    expect(await rows(ds)).toEqual(before);
    // The key still refuses a second row for the same tick, and ON CONFLICT on it still works.
    await expect(
      ds.query(
        `INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close) VALUES ($1, '2026-01-02T10:00:00Z', 'tick', 4, 4, 4, 4)`,
        [assetId],
      ),
    ).rejects.toThrow(/duplicate key/);
    await ds.query(
      `INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close) VALUES ($1, '2026-01-02T10:00:00Z', 'tick', 4, 4, 4, 4)
       ON CONFLICT (asset_id, "interval", "timestamp") DO NOTHING`,
      [assetId],
    );
    expect(await rows(ds)).toEqual(before);

    await undoMigrationsThrough(ds, 'PriceHistoryNaturalKey1764800000000');
    expect(await keyOf(ds)).toEqual([
      { conname: 'price_history_pkey', contype: 'p', cols: ['id'] },
      { conname: 'uq_price_history_asset_interval_ts', contype: 'u', cols: ['asset_id', 'interval', 'timestamp'] },
    ]);
    expect(await rows(ds)).toEqual(before);
    const ids = (await ds.query(`SELECT id FROM price_history ORDER BY id`)) as { id: string }[];
    expect(ids).toHaveLength(2);
    expect(new Set(ids.map((r) => r.id)).size).toBe(2);
    // New rows get ids from the identity again.
    await ds.query(
      `INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close) VALUES ($1, '2026-01-03T00:00:00Z', '1d', 1, 1, 1, 1)`,
      [assetId],
    );
    expect(((await ds.query(`SELECT count(DISTINCT id)::int AS n FROM price_history`)) as { n: number }[])[0].n).toBe(3);

    await ds.runMigrations();
    expect(await keyOf(ds)).toEqual([{ conname: 'pk_price_history', contype: 'p', cols: ['asset_id', 'interval', 'timestamp'] }]);
  });
});
