import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessages } from '../../src/bus/bus.messages';
import { MessageBus } from '../../src/bus/message-bus';
import { freePort } from '../../src/database/embedded-postgres';
import { trimZeros } from '../../src/database/decimal.transformer';
import { FeedLeaderLock } from '../../src/price-feed/feed/feed-leader.lock';
import { LatestPriceSource } from '../../src/price-feed/latest-price.source';
import { pgArray } from '../../src/price-feed/pipeline/pg-array';
import { PriceBatchWriter } from '../../src/price-feed/pipeline/price-batch.writer';
import { PricePipeline } from '../../src/price-feed/pipeline/price-pipeline.service';
import { QuoteValidator, ValidQuote } from '../../src/price-feed/validation/quote-validator';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { observeFor, poll } from '../support/poll';

type Committed = BusMessages['prices.committed'];

function collect(app: TestApp): Committed[] {
  const seen: Committed[] = [];
  app.app.get(MessageBus).subscribe('prices.committed', (m) => seen.push(m));
  return seen;
}

const snapshot = (url: string) =>
  Promise.all([
    sql(url, `SELECT symbol, current_price, previous_close, day_high, day_low, volume, last_updated FROM assets ORDER BY symbol`),
    sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM price_history`),
  ]);

const vq = (symbol: string, price: string, asOf: Date, extra: Partial<ValidQuote> = {}): ValidQuote => ({
  symbol,
  price,
  previous_close: null,
  high: null,
  low: null,
  volume: null,
  as_of: asOf,
  source: 'test',
  ...extra,
});

describe('Price pipeline on PostgreSQL (simulated market)', () => {
  let app: TestApp;
  let pipeline: PricePipeline;
  let writer: PriceBatchWriter;

  beforeAll(async () => {
    app = await startTestApp({ PRICE_BACKFILL_DAYS: '0' });
    pipeline = app.app.get(PricePipeline);
    writer = app.app.get(PriceBatchWriter);
  });
  afterAll(() => app?.close());

  it('fetches, validates, writes assets + tick history in one go, and publishes only after commit', async () => {
    const seen: Committed[] = [];
    const atPublish: Promise<Record<string, unknown>[]>[] = [];
    app.app.get(MessageBus).subscribe('prices.committed', (m) => {
      seen.push(m);
      atPublish.push(sql(app.databaseUrl, `SELECT symbol, current_price FROM assets WHERE symbol = ANY($1)`, [m.ticks.map((t) => t.symbol)]));
    });
    const report = await pipeline.runBatch(['AAPL', 'MSFT', 'BTC-USD', 'NOPE'], { origin: 'test' });
    expect(report.error).toBeUndefined();
    expect(report.results.map((r) => [r.symbol, r.status])).toEqual([
      ['AAPL', 'updated'],
      ['MSFT', 'updated'],
      ['BTC-USD', 'updated'],
      ['NOPE', 'unknown'],
    ]);
    expect(report.historyRows).toBe(3);
    const msg = await poll('seen[0]', () => seen[0]);
    expect(msg.origin).toBe('test');
    expect(msg.published_at).toBeLessThanOrEqual(Date.now());
    expect(msg.ticks.map((t) => t.symbol).sort()).toEqual(['AAPL', 'BTC-USD', 'MSFT']);
    // What subscribers see is already in the database.
    const rows = await atPublish[0];
    for (const t of msg.ticks) {
      const row = rows.find((r) => r.symbol === t.symbol)!;
      expect(Number(row.current_price)).toBe(Number(t.price));
    }
    const hist = await sql(app.databaseUrl, `SELECT a.symbol, h.close, h."interval" FROM price_history h JOIN assets a ON a.id = h.asset_id ORDER BY a.symbol`);
    expect(hist.map((h) => [h.symbol, h.interval])).toEqual([
      ['AAPL', 'tick'],
      ['BTC-USD', 'tick'],
      ['MSFT', 'tick'],
    ]);
    const aapl = msg.ticks.find((t) => t.symbol === 'AAPL')!;
    expect(aapl).toMatchObject({ source: 'simulated', previous_close: expect.any(String), high: expect.any(String), low: expect.any(String) });
    // The cache learnt it from the bus.
    await poll(
      "(await app.app.get(LatestPriceSource).get('AAPL'))?.price === aapl....",
      async () => (await app.app.get(LatestPriceSource).get('AAPL'))?.price === aapl.price,
    );
  });

  it('a written batch written again adds nothing, and an older quote never overwrites a newer one', async () => {
    const t = new Date(Date.now() - 1000);
    const first = await writer.write([vq('AMZN', '190.5', t), vq('META', '560', t)]);
    expect(first.committed).toHaveLength(2);
    expect(first.historyRows).toBe(2);
    const before = await snapshot(app.databaseUrl);
    const again = await writer.write([vq('AMZN', '190.5', t), vq('META', '560', t)]);
    expect(again.historyRows).toBe(0);
    const older = await writer.write([vq('AMZN', '150', new Date(t.getTime() - 60_000))]);
    expect(older.committed).toEqual([]);
    const after = await snapshot(app.databaseUrl);
    expect(after[0]).toEqual(before[0]);
    // The older quote still lands in history (it is a real past tick), once.
    expect(after[1][0].n).toBe(before[1][0].n + 1);
  });

  it('a batch partly written before adds only its new ticks, and the same batch with no duplicate adds them all', async () => {
    const t = new Date(Date.now() - 30_000);
    expect((await writer.write([vq('ADBE', '500', t)])).historyRows).toBe(1);
    const mixed = await writer.write([vq('ADBE', '500', t), vq('CRM', '300', t), vq('ADBE', '501', new Date(t.getTime() + 1000))]);
    expect(mixed.historyRows).toBe(2); // CRM@t and ADBE@t+1s; ADBE@t was there
    expect(mixed.committed.map((c) => [c.symbol, c.price]).sort()).toEqual([
      ['ADBE', '501'],
      ['CRM', '300'],
    ]);
    const ticks = await sql(
      app.databaseUrl,
      `SELECT a.symbol, h.close::text FROM price_history h JOIN assets a ON a.id = h.asset_id WHERE a.symbol IN ('ADBE', 'CRM') ORDER BY 1, h."timestamp"`,
    );
    expect(ticks.map((r) => [r.symbol, r.close])).toEqual([
      ['ADBE', '500.00000000'],
      ['ADBE', '501.00000000'],
      ['CRM', '300.00000000'],
    ]);
  });

  it('a fenced batch with repeated symbols and a tick already stored: fence and statement run again together, ticks land once, moved assets come back in order', async () => {
    const t = new Date(Date.now() - 20_000);
    const later = new Date(t.getTime() + 1000);
    expect((await writer.write([vq('PYPL', '700', t)])).historyRows).toBe(1);
    let fenced = 0;
    const fence = async () => {
      fenced++;
    };
    const res = await writer.write([vq('PYPL', '700', t), vq('QCOM', '30', t), vq('PYPL', '701', later), vq('QCOM', '31', t)], fence);
    // PYPL@t was stored: the plain insert fails, and the whole transaction (fence included) runs again, skipping that tick.
    expect(fenced).toBe(2);
    expect(res.historyRows).toBe(2); // QCOM@t (the first of the two) and PYPL@t+1s
    expect(res.committed.map((c) => [c.symbol, c.price, c.as_of])).toEqual([
      ['PYPL', '701', later.toISOString()],
      ['QCOM', '31', t.toISOString()],
    ]);
    const ticks = await sql(
      app.databaseUrl,
      `SELECT a.symbol, h.close::text FROM price_history h JOIN assets a ON a.id = h.asset_id WHERE a.symbol IN ('PYPL', 'QCOM') ORDER BY 1, h."timestamp"`,
    );
    expect(ticks.map((r) => [r.symbol, r.close])).toEqual([
      ['PYPL', '700.00000000'],
      ['PYPL', '701.00000000'],
      ['QCOM', '30.00000000'],
    ]);
    // A fence that refuses: nothing of the batch is written.
    const before = await snapshot(app.databaseUrl);
    const refused = await writer
      .write([vq('PYPL', '702', new Date(later.getTime() + 1000))], async () => {
        throw new Error('not the leader');
      })
      .catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    expect(await snapshot(app.databaseUrl)).toEqual(before);
  });

  it('widens the stored day range for quotes without high/low and starts a new one on a new UTC day', async () => {
    const d1 = new Date(Date.now() - 3 * 86_400_000);
    await writer.write([vq('NFLX', '600', d1)]);
    await writer.write([vq('NFLX', '610', new Date(d1.getTime() + 1000))]);
    await writer.write([vq('NFLX', '590', new Date(d1.getTime() + 2000))]);
    let [row] = await sql(app.databaseUrl, `SELECT day_high::text, day_low::text FROM assets WHERE symbol = 'NFLX'`);
    expect([row.day_high, row.day_low]).toEqual(['610.00000000', '590.00000000']);
    await writer.write([vq('NFLX', '605', new Date(d1.getTime() + 86_400_000))]);
    [row] = await sql(app.databaseUrl, `SELECT day_high::text, day_low::text FROM assets WHERE symbol = 'NFLX'`);
    expect([row.day_high, row.day_low]).toEqual(['605.00000000', '605.00000000']);
  });

  it('is all or nothing: a constraint violation on one row leaves nothing of the batch and publishes nothing', async () => {
    const seen = collect(app);
    const before = await snapshot(app.databaseUrl);
    const now = new Date();
    // Bypass validation: price 0 violates ck_assets_current_price on the 3rd row.
    await expect(writer.write([vq('AAPL', '1', now), vq('MSFT', '2', now), vq('GOOGL', '0', now), vq('NVDA', '3', now)])).rejects.toThrow(
      /ck_assets_current_price/,
    );
    expect(await snapshot(app.databaseUrl)).toEqual(before);
    await observeFor(100, 'nothing is published for a rolled-back batch');
    expect(seen).toEqual([]);
  });

  it('is all or nothing when the history insert fails after the asset update', async () => {
    await sql(
      app.databaseUrl,
      `CREATE FUNCTION fail_for_tsla() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.asset_id = (SELECT id FROM assets WHERE symbol = 'TSLA') THEN RAISE EXCEPTION 'history write failed for TSLA'; END IF;
         RETURN NEW;
       END $$`,
    );
    await sql(app.databaseUrl, `CREATE TRIGGER fail_tsla BEFORE INSERT ON price_history FOR EACH ROW EXECUTE FUNCTION fail_for_tsla()`);
    try {
      const before = await snapshot(app.databaseUrl);
      const report = await pipeline.runBatch(['AAPL', 'TSLA', 'MSFT'], { origin: 'test' });
      expect(report.error).toMatch(/history write failed for TSLA/);
      expect(report.committed).toEqual([]);
      expect(report.results.every((r) => r.status === 'failed' && !r.stored)).toBe(true);
      expect(await snapshot(app.databaseUrl)).toEqual(before);
    } finally {
      await sql(app.databaseUrl, `DROP TRIGGER fail_tsla ON price_history; DROP FUNCTION fail_for_tsla()`);
    }
  });

  it('is all or nothing when its connection is killed mid-batch; with retries the batch then lands exactly once', async () => {
    // The history INSERT waits for a lock this test holds: the writer is killed while it waits, never after it committed.
    const gate = await holdGate(app.databaseUrl, 'slow_history');
    const killWriter = async () => {
      const victim = await gate.waiting();
      // Between the asset UPDATE and the history INSERT: the update is not visible from outside.
      const [mid] = await sql(app.databaseUrl, `SELECT current_price::text FROM assets WHERE symbol = 'ORCL'`);
      await sql(app.databaseUrl, 'SELECT pg_terminate_backend($1)', [victim]);
      return mid.current_price;
    };
    try {
      const before = await snapshot(app.databaseUrl);
      const t = new Date();
      // Without retries: the batch fails and nothing of it is visible.
      const [result, midPrice] = await Promise.all([writer.write([vq('ORCL', '123.45', t), vq('IBM', '222.22', t)]).catch((e: Error) => e), killWriter()]);
      expect(result).toBeInstanceOf(Error);
      expect(midPrice).not.toBe('123.45000000');
      expect(await snapshot(app.databaseUrl)).toEqual(before);

      // The scheduled feed's path: retry with backoff, carried quotes, no duplicates.
      const seen = collect(app);
      // The first attempt is killed; then the gate opens for the retry.
      const [report] = await Promise.all([pipeline.runBatch(['ORCL', 'IBM'], { origin: 'test', carryOnFailure: true }), killWriter().then(() => gate.open())]);
      expect(report.error).toBeUndefined();
      expect(report.committed.map((c) => c.symbol).sort()).toEqual(['IBM', 'ORCL']);
      const after = await snapshot(app.databaseUrl);
      expect(after[1][0].n).toBe(before[1][0].n + 2);
      const dupes = await sql(app.databaseUrl, `SELECT asset_id, "timestamp", count(*) FROM price_history GROUP BY 1, 2 HAVING count(*) > 1`);
      expect(dupes).toEqual([]);
      await poll('seen.length === 1', () => seen.length === 1);
    } finally {
      await gate.remove();
    }
  });

  it('the leader keeps known prices in memory and reads them again after a failed write, so no older quote lands over a newer one', async () => {
    const leader = { origin: 'test', fence: async () => undefined }; // fenced batches are the leader's (no lock runs in this app)
    const first = await pipeline.runBatch(['ORCL', 'IBM'], leader);
    expect(first.error).toBeUndefined();
    const orcl = first.committed.find((t) => t.symbol === 'ORCL')!;
    expect(orcl).toBeDefined();
    // Another writer moves ORCL an hour ahead without telling this process: the memory still has the committed row.
    await sql(app.databaseUrl, `UPDATE assets SET current_price = 999, last_updated = now() + interval '1 hour' WHERE symbol = 'ORCL'`);
    expect((await pipeline.knownAssets(['ORCL'])).get('ORCL')).toMatchObject({ lastPrice: orcl.price, asOf: new Date(orcl.as_of) });

    // A batch whose connection is killed mid-write fails...
    const gate = await holdGate(app.databaseUrl, 'slow_history2');
    try {
      const killWriter = async () => {
        await sql(app.databaseUrl, 'SELECT pg_terminate_backend($1)', [await gate.waiting()]);
      };
      const [failed] = await Promise.all([pipeline.runBatch(['ORCL', 'IBM'], leader), killWriter()]);
      expect(failed.error).toBeDefined();
    } finally {
      await gate.remove();
    }
    // ... and drops the known prices: they are read from the database again.
    const [stored] = await sql<{ last_updated: Date }>(app.databaseUrl, `SELECT last_updated FROM assets WHERE symbol = 'ORCL'`);
    expect((await pipeline.knownAssets(['ORCL'])).get('ORCL')).toMatchObject({ lastPrice: '999', asOf: stored.last_updated });
    const orclHistory = () =>
      sql<{ n: number }>(app.databaseUrl, `SELECT count(*)::int AS n FROM price_history h JOIN assets a ON a.id = h.asset_id WHERE a.symbol = 'ORCL'`).then(
        (r) => r[0].n,
      );
    const before = await orclHistory();
    const next = await pipeline.runBatch(['ORCL', 'IBM'], leader);
    expect(next.error).toBeUndefined();
    expect(next.results.find((r) => r.symbol === 'ORCL')).toMatchObject({ status: 'rejected', reason: 'out_of_order', stored: false });
    expect(next.results.find((r) => r.symbol === 'IBM')).toMatchObject({ status: 'updated', stored: true });
    const [row] = await sql(app.databaseUrl, `SELECT current_price::text AS p FROM assets WHERE symbol = 'ORCL'`);
    expect(row.p).toBe('999.00000000');
    expect(await orclHistory()).toBe(before); // no older tick written behind the newer price either
    await sql(app.databaseUrl, `UPDATE assets SET last_updated = now() WHERE symbol = 'ORCL'`);
  });

  it('known prices follow every commit (also through the bus) and are dropped when the feed lock changes hands', async () => {
    const leader = { origin: 'test', fence: async () => undefined };
    await pipeline.runBatch(['AMD'], leader);
    // Another process's commit arrives through the bus: the memory moves forward, never back.
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const bus = app.app.get(MessageBus);
    await bus.publish('prices.committed', {
      ticks: [{ symbol: 'AMD', price: '321.5', previous_close: null, high: null, low: null, volume: null, as_of: later, source: 'elsewhere' }],
      published_at: Date.now(),
      origin: 'other',
    });
    await poll(
      "(await pipeline.knownAssets(['AMD'])).get('AMD')?.lastPrice === '32...",
      async () => (await pipeline.knownAssets(['AMD'])).get('AMD')?.lastPrice === '321.5',
    );
    await bus.publish('prices.committed', {
      ticks: [{ symbol: 'AMD', price: '1', previous_close: null, high: null, low: null, volume: null, as_of: new Date(0).toISOString(), source: 'old' }],
      published_at: Date.now(),
      origin: 'other',
    });
    await observeFor(50, 'the older tick is not taken');
    expect((await pipeline.knownAssets(['AMD'])).get('AMD')).toMatchObject({ lastPrice: '321.5', asOf: new Date(later) });
    // A change of leader: whatever the other feed wrote, the prices are read from the database again.
    const lock = app.app.get(FeedLeaderLock) as unknown as { setHeld(v: boolean): void };
    lock.setHeld(true);
    lock.setHeld(false);
    const [stored] = await sql<{ p: string }>(app.databaseUrl, `SELECT current_price::text AS p FROM assets WHERE symbol = 'AMD'`);
    expect((await pipeline.knownAssets(['AMD'])).get('AMD')?.lastPrice).toBe(trimZeros(stored.p));
    expect(stored.p).not.toBe('321.50000000');
  });

  it('publishes each updated row exactly as stored (the ticks equal a read-back of the assets rows)', async () => {
    await sql(app.databaseUrl, `INSERT INTO assets (symbol, name, asset_type) SELECT 'TICK' || g, 'Tick ' || g, 'STOCK' FROM generate_series(1, 6) g`);
    const t = new Date(Date.now() - 10_000);
    await writer.write([vq('TICK6', '50', new Date(t.getTime() + 5000))]); // TICK6 is newer in the database than the batch below
    const res = await writer.write([
      vq('TICK1', '100.12345678', t, { previous_close: '99.5', high: '101', low: '98.00000001', volume: '123456.5', source: 'a' }),
      vq('TICK2', '0.00000001', t, { volume: '0' }),
      vq('TICK3', '12345678.9', t, { source: 'b' }),
      vq('TICK3', '12345679', new Date(t.getTime() + 1)), // two quotes of one symbol: the newer one is stored
      vq('TICK4', '7.10', t, { high: '7.5', low: '7.1', previous_close: '7.000' }),
      vq('TICK5', '1e2', t),
      vq('TICK6', '49', t),
    ]);
    const rows = await sql<Record<string, string | Date | null>>(
      app.databaseUrl,
      `SELECT symbol, current_price, previous_close, day_high, day_low, volume, last_updated, source, price_seq FROM assets WHERE symbol = ANY($1) ORDER BY symbol`,
      [['TICK1', 'TICK2', 'TICK3', 'TICK4', 'TICK5']],
    );
    const t0 = (v: unknown) => (v == null ? null : trimZeros(String(v)));
    const stored = rows.map((r) => ({
      symbol: r.symbol,
      price: trimZeros(String(r.current_price)),
      previous_close: t0(r.previous_close),
      high: t0(r.day_high),
      low: t0(r.day_low),
      volume: t0(r.volume),
      as_of: new Date(r.last_updated as Date).toISOString(),
      source: r.source ?? 'unknown',
      seq: Number(r.price_seq),
    }));
    expect([...res.committed].sort((a, b) => a.symbol.localeCompare(b.symbol))).toEqual(stored);
    expect(res.committed.find((c) => c.symbol === 'TICK3')).toMatchObject({
      price: '12345679',
      as_of: new Date(t.getTime() + 1).toISOString(),
      source: 'test',
    });
    expect(res.historyRows).toBe(7);
  });

  it('advances an asset’s seq once per committed price, never for an older quote, and publishes it', async () => {
    await sql(app.databaseUrl, `INSERT INTO assets (symbol, name, asset_type) VALUES ('SEQA', 'Seq A', 'STOCK'), ('SEQB', 'Seq B', 'STOCK')`);
    const t = Date.now() - 60_000;
    const first = await writer.write([vq('SEQA', '10', new Date(t)), vq('SEQB', '20', new Date(t))]);
    expect(first.committed.map((c) => [c.symbol, c.seq]).sort()).toEqual([
      ['SEQA', 1],
      ['SEQB', 1],
    ]);
    // Two quotes of SEQA in one batch: one stored price, one seq step.
    const second = await writer.write([vq('SEQA', '11', new Date(t + 1000)), vq('SEQA', '12', new Date(t + 2000))]);
    expect(second.committed.map((c) => [c.symbol, c.price, c.seq])).toEqual([['SEQA', '12', 2]]);
    // Older than what is stored: nothing committed, the seq stays.
    const older = await writer.write([vq('SEQA', '9', new Date(t + 500)), vq('SEQB', '21', new Date(t + 3000))]);
    expect(older.committed.map((c) => [c.symbol, c.seq])).toEqual([['SEQB', 2]]);
    const rows = await sql<{ symbol: string; price_seq: string }>(
      app.databaseUrl,
      `SELECT symbol, price_seq FROM assets WHERE symbol IN ('SEQA','SEQB') ORDER BY symbol`,
    );
    expect(rows.map((r) => Number(r.price_seq))).toEqual([2, 2]);
  });

  it('builds array parameters PostgreSQL reads back element for element (pgArray)', async () => {
    const texts = [
      '',
      'NULL',
      'null',
      'Null',
      'NULLS',
      ' a',
      'a ',
      'a b',
      'a,b',
      '{',
      '}',
      '{}',
      '"',
      '\\',
      'a"b\\c',
      '\\"',
      'é',
      '^GSPC',
      'BRK.B',
      'BTC-USD',
      '1e5',
      '-1.5',
      '\t',
      'x\ny',
      "it's",
      '日本',
      null,
      'AAPL',
    ];
    const [row] = await sql<{ a: (string | null)[]; b: (string | null)[] }>(app.databaseUrl, `SELECT $1::text[] AS a, $2::text[] AS b`, [
      pgArray(texts),
      texts,
    ]);
    expect(row.a).toEqual(texts);
    expect(row.a).toEqual(row.b);
    const nums = ['0', '1', '0.00000001', '123456789012345.12345678', '-5', '1e2', null, '7.10'];
    const [n] = await sql<{ a: string[]; b: string[] }>(app.databaseUrl, `SELECT $1::numeric[]::text[] AS a, $2::numeric[]::text[] AS b`, [
      pgArray(nums),
      nums,
    ]);
    expect(n.a).toEqual(n.b);
    const times = [new Date(0).toISOString(), new Date().toISOString(), '2024-03-05T15:00:00.123Z'];
    const [t] = await sql<{ a: string[]; b: string[] }>(app.databaseUrl, `SELECT $1::timestamptz[]::text[] AS a, $2::timestamptz[]::text[] AS b`, [
      pgArray(times),
      times,
    ]);
    expect(t.a).toEqual(t.b);
    expect(pgArray([])).toBe('{}');
  });

  it('deleting an asset deletes its history in the same statement (no foreign key on price_history)', async () => {
    await sql(app.databaseUrl, `INSERT INTO assets (symbol, name, asset_type) VALUES ('DEL1', 'Delete me', 'STOCK'), ('DEL2', 'Keep me', 'STOCK')`);
    const t = new Date(Date.now() - 5000);
    const res = await writer.write([vq('DEL1', '10', t), vq('DEL2', '20', t), vq('DEL1', '11', new Date(t.getTime() + 1000))]);
    expect(res.historyRows).toBe(3);
    const rows = (symbol: string) =>
      sql<{ n: number }>(app.databaseUrl, `SELECT count(*)::int AS n FROM price_history h JOIN assets a ON a.id = h.asset_id WHERE a.symbol = $1`, [
        symbol,
      ]).then((r) => r[0].n);
    const [{ id }] = await sql<{ id: number }>(app.databaseUrl, `SELECT id FROM assets WHERE symbol = 'DEL1'`);
    expect(await rows('DEL1')).toBe(2);
    const orphans = () => sql<{ n: number }>(app.databaseUrl, `SELECT count(*)::int AS n FROM price_history WHERE asset_id = $1`, [id]).then((r) => r[0].n);
    // A failed delete keeps the history (same statement, same transaction).
    await expect(sql(app.databaseUrl, `WITH d AS (DELETE FROM assets WHERE symbol = 'DEL1' RETURNING id) SELECT 1 / (count(*) - 1) FROM d`)).rejects.toThrow(
      /division by zero/,
    );
    expect(await orphans()).toBe(2);
    await sql(app.databaseUrl, `DELETE FROM assets WHERE symbol = 'DEL1'`);
    expect(await orphans()).toBe(0);
    expect(await rows('DEL2')).toBe(1);
    await sql(app.databaseUrl, `DELETE FROM assets WHERE symbol = 'DEL2'`);
  });

  it('dry run fetches and validates but writes and publishes nothing', async () => {
    const seen = collect(app);
    const before = await snapshot(app.databaseUrl);
    const report = await pipeline.runBatch(['AAPL', 'ETH-USD'], { origin: 'test', dryRun: true });
    expect(report.results.map((r) => [r.symbol, r.status, r.fetched, r.stored])).toEqual([
      ['AAPL', 'valid', true, false],
      ['ETH-USD', 'valid', true, false],
    ]);
    expect(report.results[0].price).toMatch(/^\d+(\.\d+)?$/);
    expect(await snapshot(app.databaseUrl)).toEqual(before);
    await observeFor(100, 'nothing is published for a rolled-back batch');
    expect(seen).toEqual([]);
  });

  it('ingests 5,000 quotes in one batch through validation and the two statements (callable on its own)', async () => {
    await sql(app.databaseUrl, `INSERT INTO assets (symbol, name, asset_type) SELECT 'BENCH' || g, 'Bench ' || g, 'STOCK' FROM generate_series(1, 5000) g`);
    const validator = app.app.get(QuoteValidator);
    const now = new Date();
    const raw = Array.from({ length: 5000 }, (_, i) => ({
      symbol: `BENCH${i + 1}`,
      price: (100 + i / 100).toFixed(2),
      volume: String(i),
      as_of: now,
      source: 'bench',
    }));
    const { accepted, rejected } = validator.validate(raw, new Map());
    expect(rejected).toEqual([]);
    const res = await writer.write(accepted);
    expect(res.committed).toHaveLength(5000);
    expect(res.historyRows).toBe(5000);
    const [c] = await sql<{ n: number }>(app.databaseUrl, `SELECT count(*)::int AS n FROM assets WHERE symbol LIKE 'BENCH%' AND current_price IS NOT NULL`);
    expect(c.n).toBe(5000);
  });
});

describe('Price pipeline: rejected and unpriced quotes', () => {
  let app: TestApp;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rm-replay-'));
    const ts = new Date(Date.now() - 5000).toISOString();
    writeFileSync(
      join(dir, 'bad.csv'),
      [
        'timestamp,symbol,price,volume',
        `${ts},AAPL,231.5,10`,
        `${ts},MSFT,NaN,10`,
        `${ts},GOOGL,-3,10`,
        `${ts},AMZN,0,10`,
        `${ts},META,Infinity,1`,
        `2999-01-01T00:00:00Z,NVDA,120,1`,
      ].join('\n'),
    );
    app = await startTestApp({
      PRICE_BACKFILL_DAYS: '0',
      PRICE_PROVIDERS: `stocks=replay;crypto=coingecko;*=simulated`,
      REPLAY_FILE: join(dir, 'bad.csv'),
      COINGECKO_BASE_URL: `http://127.0.0.1:${await freePort()}`,
      VENDOR_RETRIES: '0',
    });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores and broadcasts only valid quotes; NaN, Infinity, negative, zero and future ones are rejected and counted', async () => {
    const seen = collect(app);
    const before = await sql(app.databaseUrl, `SELECT symbol, current_price FROM assets WHERE symbol IN ('MSFT','GOOGL','AMZN','META','NVDA') ORDER BY symbol`);
    const report = await app.app.get(PricePipeline).runBatch(['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'META', 'NVDA'], { origin: 'test' });
    expect(Object.fromEntries(report.results.map((r) => [r.symbol, r.status === 'rejected' ? r.reason : r.status]))).toEqual({
      AAPL: 'updated',
      MSFT: 'not_finite',
      GOOGL: 'not_positive',
      AMZN: 'not_positive',
      META: 'not_finite',
      NVDA: 'unpriced', // the replay has not reached year 2999 yet
    });
    const msg = await poll('seen[0]', () => seen[0]);
    expect(msg.ticks.map((t) => t.symbol)).toEqual(['AAPL']);
    expect(
      await sql(app.databaseUrl, `SELECT symbol, current_price FROM assets WHERE symbol IN ('MSFT','GOOGL','AMZN','META','NVDA') ORDER BY symbol`),
    ).toEqual(before);
  });

  it('a symbol no provider can price keeps its last price and turns stale', async () => {
    const [before] = await sql(app.databaseUrl, `SELECT current_price, last_updated FROM assets WHERE symbol = 'BTC-USD'`);
    const report = await app.app.get(PricePipeline).runBatch(['BTC-USD'], { origin: 'test' });
    expect(report.results[0]).toMatchObject({ symbol: 'BTC-USD', status: 'unpriced', stored: false });
    expect(report.results[0].detail).toMatch(/coingecko: .*ECONNREFUSED/);
    const [after] = await sql(app.databaseUrl, `SELECT current_price, last_updated FROM assets WHERE symbol = 'BTC-USD'`);
    expect(after).toEqual(before);
    const src = app.app.get(LatestPriceSource);
    const tick = await src.get('BTC-USD');
    expect(tick?.price).toBe(String(Number(before.current_price)));
    expect(src.isStale(tick!)).toBe(true);
  });
});

/**
 * A gate on price_history inserts: a statement trigger that waits for an advisory lock the
 * test holds on its own connection. `waiting()` is the pid of a writer blocked there (it
 * cannot commit until the gate opens, however slow the machine), `open()` lets writers
 * through, `remove()` drops the trigger and the connection.
 */
async function holdGate(url: string, name: string) {
  const key = 4_242_000 + Math.floor(Math.random() * 1000);
  const holder = new Client({ connectionString: url });
  await holder.connect();
  await holder.query('SELECT pg_advisory_lock($1)', [key]);
  const [{ pid: holderPid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
  await sql(url, `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock_shared(${key}); RETURN NEW; END $$`);
  await sql(url, `CREATE TRIGGER ${name} BEFORE INSERT ON price_history FOR STATEMENT EXECUTE FUNCTION ${name}()`);
  let held = true;
  const open = async () => {
    if (held) await holder.query('SELECT pg_advisory_unlock($1)', [key]);
    held = false;
  };
  return {
    waiting: async (): Promise<number> => {
      const [row] = await poll('a price_history writer waiting at the gate', () =>
        sql<{ pid: number }>(
          url,
          // Whoever waits for the gate's lock: the writer's statement, stopped at its INSERT into price_history.
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND $1::int = ANY (pg_blocking_pids(pid))`,
          [holderPid],
        ).then((r) => (r.length ? r : null)),
      );
      return row.pid;
    },
    open,
    remove: async () => {
      await open();
      await holder.end();
      await sql(url, `DROP TRIGGER ${name} ON price_history; DROP FUNCTION ${name}()`);
    },
  };
}
