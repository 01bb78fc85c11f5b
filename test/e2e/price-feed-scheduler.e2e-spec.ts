import { SchedulerRegistry } from '@nestjs/schedule';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessages } from '../../src/bus/bus.messages';
import { MessageBus } from '../../src/bus/message-bus';
import { PriceFeedStatus } from '../../src/price-feed/feed/price-feed-status.service';
import { FEED_DAILY_JOB_NAME, FEED_INTERVAL_NAME, PriceFeedScheduler } from '../../src/price-feed/feed/price-feed.scheduler';
import { PriceBatchWriter } from '../../src/price-feed/pipeline/price-batch.writer';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { VendorServer } from '../unit/price-feed/support/vendor-server';

async function until<T>(fn: () => T | Promise<T>, ms = 8000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (let i = 0; i < 2000 && Date.now() < end; i++) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met in time');
}

const count = async (url: string, where = 'TRUE') => (await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM price_history WHERE ${where}`))[0].n;

describe('Scheduled feed inside the API (PRICE_FEED_MODE=inprocess)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ PRICE_FEED_MODE: 'inprocess', REALTIME_UPDATE_INTERVAL: '0.2', REALTIME_BATCH_SIZE: '40', PRICE_BACKFILL_DAYS: '7' });
  });
  afterAll(() => app?.close());

  it('registers its interval and nightly job, takes the lock and moves prices every interval, in batches', async () => {
    const registry = app.app.get(SchedulerRegistry);
    expect(registry.getIntervals()).toContain(FEED_INTERVAL_NAME);
    expect(registry.getCronJobs().has(FEED_DAILY_JOB_NAME)).toBe(true);
    const status = app.app.get(PriceFeedStatus);
    await until(() => status.role === 'leader');

    const batches: BusMessages['prices.committed'][] = [];
    app.app.get(MessageBus).subscribe('prices.committed', (m) => batches.push(m));
    await until(() => batches.length >= 8);
    // 129 catalog symbols in batches of at most 40.
    expect(Math.max(...batches.map((b) => b.ticks.length))).toBeLessThanOrEqual(40);
    const aapl = batches.flatMap((b) => b.ticks).filter((t) => t.symbol === 'AAPL');
    expect(aapl.length).toBeGreaterThanOrEqual(2);
    expect(new Set(aapl.map((t) => t.as_of)).size).toBe(aapl.length);
    expect(batches[0].origin).toMatch(/^feed:/);
    const snap = await status.snapshot();
    expect(snap).toMatchObject({ mode: 'inprocess', role: 'leader', price_feed_running: true, interval_seconds: 0.2, batch_size: 40 });
    expect(snap.runs).toBeGreaterThan(0);
  });

  it('backfills daily history for assets that have none', async () => {
    // The backfill runs in the background after start-up; wait (bounded) until it has reached every asset.
    const missing = async () =>
      (
        await sql<{ n: number }>(
          app.databaseUrl,
          `SELECT count(*)::int AS n FROM assets a WHERE NOT EXISTS (SELECT 1 FROM price_history h WHERE h.asset_id = a.id AND h."interval" = '1d')`,
        )
      )[0].n;
    await until(async () => (await missing()) === 0 || null, 20_000);
    expect(await missing()).toBe(0);
    // The 7 days before today: any 7 consecutive days hold exactly 5 weekdays, whatever today is;
    // crypto trades every day, everything else on weekdays only.
    const perType = await sql<{ asset_type: string; min: number; max: number; assets: number }>(
      app.databaseUrl,
      `SELECT asset_type, min(n)::int AS min, max(n)::int AS max, count(*)::int AS assets FROM (
         SELECT a.asset_type, count(h.id) AS n FROM assets a JOIN price_history h ON h.asset_id = a.id AND h."interval" = '1d'
          GROUP BY a.id, a.asset_type) x
        GROUP BY asset_type ORDER BY asset_type`,
    );
    expect(perType.reduce((n, r) => n + r.assets, 0)).toBe(129);
    for (const r of perType) {
      const expected = r.asset_type === 'CRYPTO' ? 7 : 5;
      expect({ type: r.asset_type, min: r.min, max: r.max }).toEqual({ type: r.asset_type, min: expected, max: expected });
    }
    expect(perType.map((r) => r.asset_type)).toContain('CRYPTO');
  });

  it('nightly job: daily bars from yesterday\'s ticks, old ticks pruned', async () => {
    const writer = app.app.get(PriceBatchWriter);
    const today = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`).getTime();
    const y = (h: number) => new Date(today - 86_400_000 + h * 3_600_000);
    // A symbol the backfill gave no bar for yesterday? Use a fresh asset to be sure.
    await sql(app.databaseUrl, `INSERT INTO assets (symbol, name, asset_type) VALUES ('ZZDAY', 'Day test', 'STOCK')`);
    for (const [h, p] of [[1, '10'], [5, '12.5'], [9, '9'], [20, '11']] as const) {
      await writer.write([{ symbol: 'ZZDAY', price: p, previous_close: null, high: null, low: null, volume: String(h * 10), as_of: y(h), source: 'test' }]);
    }
    await writer.write([{ symbol: 'ZZDAY', price: '8', previous_close: null, high: null, low: null, volume: '1', as_of: new Date(today - 30 * 86_400_000), source: 'test' }]);
    await app.app.get(PriceFeedScheduler).daily();
    const bars = await sql(
      app.databaseUrl,
      `SELECT h.open::float8, h.high::float8, h.low::float8, h.close::float8, h.volume::float8, h."timestamp" FROM price_history h JOIN assets a ON a.id = h.asset_id WHERE a.symbol = 'ZZDAY' AND h."interval" = '1d' AND h."timestamp" = $1`,
      [new Date(today - 86_400_000).toISOString()],
    );
    expect(bars).toEqual([{ open: 10, high: 12.5, low: 9, close: 11, volume: 200, timestamp: new Date(today - 86_400_000) }]);
    expect(await count(app.databaseUrl, `"interval" = 'tick' AND "timestamp" < now() - interval '7 days'`)).toBe(0);
  });
});

describe('Scheduled runs never overlap', () => {
  const yahoo = new VendorServer();
  let app: TestApp;

  beforeAll(async () => {
    await yahoo.start();
    yahoo.on('/v7/finance/quote', { fixture: 'yahoo/quote-v7-ok.json', delayMs: 700 });
    app = await startTestApp({
      PRICE_FEED_MODE: 'inprocess',
      REALTIME_UPDATE_INTERVAL: '0.1',
      REALTIME_BATCH_SIZE: '500',
      PRICE_BACKFILL_DAYS: '0',
      PRICE_PROVIDERS: 'stocks=yahoo;*=simulated',
      YAHOO_BASE_URL: yahoo.url,
      VENDOR_TIMEOUT_MS: '3000',
    });
  });
  afterAll(async () => {
    await app?.close();
    await yahoo.stop();
  });

  it('a slow run makes the next ticks skip (counted), never two runs at once', async () => {
    const status = app.app.get(PriceFeedStatus);
    await until(() => status.runs >= 2, 10_000);
    expect(status.skippedRuns).toBeGreaterThanOrEqual(3);
    expect(yahoo.maxInFlight).toBe(1);
    expect(yahoo.count('/v7/')).toBeLessThanOrEqual(status.runs + 1);
  });
});

describe.each(['off', 'external'])('PRICE_FEED_MODE=%s', (mode) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ PRICE_FEED_MODE: mode, REALTIME_UPDATE_INTERVAL: '0.1' });
  });
  afterAll(() => app?.close());

  it('does not run the feed in the API process', async () => {
    expect(app.app.get(SchedulerRegistry).getIntervals()).not.toContain(FEED_INTERVAL_NAME);
    await new Promise((r) => setTimeout(r, 500));
    expect(await count(app.databaseUrl)).toBe(0);
    const snap = await app.app.get(PriceFeedStatus).snapshot();
    expect(snap).toMatchObject({ mode, role: 'disabled', price_feed_running: false, runs: 0 });
    await app.app.get(PriceFeedScheduler).daily(); // the nightly job is a no-op here
    expect(await count(app.databaseUrl)).toBe(0);
  });
});

describe('Two in-process feeds on one database', () => {
  let first: TestApp;
  let second: TestApp;
  const env = { PRICE_FEED_MODE: 'inprocess', REALTIME_UPDATE_INTERVAL: '0.2', PRICE_BACKFILL_DAYS: '0' };

  beforeAll(async () => {
    first = await startTestApp(env);
    await until(() => first.app.get(PriceFeedStatus).role === 'leader');
    second = await startTestApp(env, { databaseUrl: first.databaseUrl });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.close();
  });

  it('the second stands by and takes over when the first stops', async () => {
    await new Promise((r) => setTimeout(r, 600));
    expect(second.app.get(PriceFeedStatus).role).toBe('standby');
    expect(second.app.get(PriceFeedStatus).runs).toBe(0);
    await first.stop();
    await until(() => second.app.get(PriceFeedStatus).role === 'leader');
    const n = await count(first.databaseUrl);
    await until(async () => (await count(first.databaseUrl)) > n);
  });
});
