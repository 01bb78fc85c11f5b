import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PriceBatchWriter } from '../../src/price-feed/pipeline/price-batch.writer';
import type { ValidQuote } from '../../src/price-feed/validation/quote-validator';
import { createMigratedDataSource } from '../support/database';

/** Assets as stored, in the form the writer reports them (trimmed decimals, ISO time). */
interface StoredAsset {
  symbol: string;
  price: string | null;
  previous_close: string | null;
  high: string | null;
  low: string | null;
  volume: string | null;
  as_of: string | null;
  source: string | null;
  seq: number;
}

const N = 3_000;
const symbols = Array.from({ length: N }, (_, i) => `LB${String(i).padStart(4, '0')}`);

/** A deterministic shuffle (the batch's order is not the table's). */
function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  let seed = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * PriceBatchWriter on batches of thousands of quotes, on a database of its own: the statement
 * returns the moved assets unordered and only what the database decided (price_seq, and stored
 * values the quote did not give, or all of a column when the batch's strings are not canonical),
 * so these check the reported ticks against the stored rows, row by row.
 */
describe('PriceBatchWriter, large batches (PostgreSQL)', () => {
  let ds: DataSource;
  let close: (() => Promise<void>) | undefined;
  let writer: PriceBatchWriter;

  const stored = async (): Promise<Map<string, StoredAsset>> => {
    const rows = (await ds.query(
      `SELECT symbol, trim_scale(current_price)::text AS price, trim_scale(previous_close)::text AS previous_close,
              trim_scale(day_high)::text AS high, trim_scale(day_low)::text AS low, trim_scale(volume)::text AS volume,
              last_updated, source, price_seq::int AS seq
         FROM assets WHERE symbol LIKE 'LB%'`,
    )) as Array<Omit<StoredAsset, 'as_of'> & { last_updated: Date | null }>;
    return new Map(rows.map(({ last_updated, ...r }) => [r.symbol, { ...r, as_of: last_updated ? last_updated.toISOString() : null }]));
  };
  const historyCount = async () => ((await ds.query(`SELECT count(*)::int AS n FROM price_history`)) as { n: number }[])[0].n;

  /** Every reported tick is the stored row, field for field. */
  const expectReportedAsStored = (committed: Awaited<ReturnType<PriceBatchWriter['write']>>['committed'], rows: Map<string, StoredAsset>) => {
    for (const t of committed) {
      const { symbol, price, previous_close, high, low, volume, as_of, source, seq } = t;
      expect({ symbol, price, previous_close, high, low, volume, as_of, source, seq }).toEqual(rows.get(t.symbol));
    }
  };

  beforeAll(async () => {
    ({ ds, close } = await createMigratedDataSource());
    await ds.query(`INSERT INTO assets (symbol, name, asset_type) SELECT s, 'Large batch ' || s, 'STOCK' FROM unnest($1::text[]) AS s`, [symbols]);
    writer = new PriceBatchWriter(ds);
  });
  afterAll(async () => {
    await close?.();
  });

  it('reports the moved assets in the batch order, as stored, each price_seq one up; older quotes go to history only', async () => {
    const t0 = Date.parse('2026-03-02T14:30:00Z');
    // Some assets already hold a newer price: their quotes below are older and must not overwrite it.
    const newer = symbols.filter((_, i) => i % 97 === 0);
    const pre = await writer.write(
      newer.map((symbol) => ({ symbol, price: '999', previous_close: null, high: null, low: null, volume: null, as_of: new Date(t0 + 60_000), source: 'pre' })),
    );
    expect(pre.committed).toHaveLength(newer.length);
    const before = await stored();
    const historyBefore = await historyCount();

    const order = shuffled(symbols);
    const batch: ValidQuote[] = order.map((symbol, i) => ({
      symbol,
      price: `${10 + (i % 500)}.${i % 7}5`,
      // Every fourth quote without previous close, high, low and volume: the stored ones (kept or widened) are reported.
      previous_close: i % 4 === 0 ? null : '11.5',
      high: i % 4 === 0 ? null : `${600 + (i % 9)}`,
      low: i % 4 === 0 ? null : '1.25',
      volume: i % 4 === 0 ? null : String(1000 + i),
      // Quotes of a few different times in one batch.
      as_of: new Date(t0 + (i % 3) * 1000),
      source: 'large',
    }));
    const res = await writer.write(batch);
    const after = await stored();

    const older = new Set(newer);
    expect(res.historyRows).toBe(N);
    expect(await historyCount()).toBe(historyBefore + N);
    expect(res.committed.map((t) => t.symbol)).toEqual(order.filter((s) => !older.has(s)));
    expectReportedAsStored(res.committed, after);
    for (const t of res.committed) expect(t.seq).toBe(before.get(t.symbol)!.seq + 1);
    for (const s of newer) expect(after.get(s)).toEqual(before.get(s));
    // Quotes without the day's range took the price as the range of a new day.
    const bare = res.committed.find((t) => batch.find((q) => q.symbol === t.symbol)!.high === null)!;
    expect([bare.high, bare.low]).toEqual([bare.price, bare.price]);
  });

  it('strings the database prints differently (trailing zeros, more than 8 decimals, exponents) are reported as stored', async () => {
    const t = new Date(Date.parse('2026-03-02T15:00:00Z'));
    const odd = ['12.50', '1.123456789', '1e2', '0012', '7.000000001'];
    const batch: ValidQuote[] = symbols.map((symbol, i) => ({
      symbol,
      price: i % 50 === 0 ? odd[(i / 50) % odd.length] : `${20 + (i % 300)}.5`,
      previous_close: i % 60 === 0 ? '15.10' : '15.1',
      high: i % 70 === 0 ? '1e3' : '900',
      low: i % 80 === 0 ? '0.50' : '0.5',
      volume: i % 90 === 0 ? '5000.00000000' : '5000',
      as_of: t,
      source: 'odd',
    }));
    const res = await writer.write(batch);
    // Every asset moves (t is newer than anything before) but those that hold a newer price from the first test.
    expect(res.committed.length).toBeGreaterThan(N - 40);
    expectReportedAsStored(res.committed, await stored());
    const first = res.committed.find((c) => c.symbol === symbols[0])!;
    expect(first).toMatchObject({ price: '12.5', previous_close: '15.1', high: '1000', low: '0.5', volume: '5000' });
    expect(res.committed.find((c) => c.symbol === symbols[50])!.price).toBe('1.12345679');
  });

  it('a large batch that fails midway stores nothing, with or without the fence', async () => {
    const before = await stored();
    const historyBefore = await historyCount();
    const t = new Date(Date.parse('2026-03-02T16:00:00Z'));
    const batch: ValidQuote[] = symbols.map((symbol, i) => ({
      symbol,
      // One price in the middle breaks ck_assets_current_price (> 0).
      price: i === N / 2 ? '0' : '42.42',
      previous_close: null,
      high: null,
      low: null,
      volume: '1',
      as_of: t,
      source: 'failing',
    }));
    await expect(writer.write(batch)).rejects.toThrow(/ck_assets_current_price/);
    let fenced = 0;
    await expect(
      writer.write(batch, async () => {
        fenced++;
      }),
    ).rejects.toThrow(/ck_assets_current_price/);
    expect(fenced).toBe(1);
    // A fence that refuses: nothing either (the statement never runs).
    await expect(
      writer.write(
        batch.map((q) => ({ ...q, price: '42.42' })),
        async () => {
          throw new Error('not the leader');
        },
      ),
    ).rejects.toThrow('not the leader');
    expect(await stored()).toEqual(before);
    expect(await historyCount()).toBe(historyBefore);
  });

  it('the same large batch written again adds no history and moves the assets once more (equal times)', async () => {
    const t = new Date(Date.parse('2026-03-02T17:00:00Z'));
    const batch: ValidQuote[] = symbols.map((symbol, i) => ({
      symbol,
      price: `${30 + (i % 100)}`,
      previous_close: null,
      high: null,
      low: null,
      volume: null,
      as_of: t,
      source: 'again',
    }));
    const first = await writer.write(batch);
    expect(first.historyRows).toBe(N);
    const historyBefore = await historyCount();
    const again = await writer.write(batch);
    expect(again.historyRows).toBe(0);
    expect(await historyCount()).toBe(historyBefore);
    expect(again.committed.map((c) => c.symbol)).toEqual(first.committed.map((c) => c.symbol));
    expect(again.committed.map((c) => c.seq)).toEqual(first.committed.map((c) => c.seq! + 1));
    expectReportedAsStored(again.committed, await stored());
  });
});
