import { SchedulerRegistry } from '@nestjs/schedule';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessages } from '../../src/bus/bus.messages';
import { MessageBus } from '../../src/bus/message-bus';
import { PriceFeedStatus } from '../../src/price-feed/feed/price-feed-status.service';
import { FEED_BATCH_JOB_NAME, FEED_DAILY_JOB_NAME, FEED_INTERVAL_NAME, PriceFeedScheduler } from '../../src/price-feed/feed/price-feed.scheduler';
import { PriceBatchWriter } from '../../src/price-feed/pipeline/price-batch.writer';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { observe, OutputCapture } from '../support/output-capture';
import { VendorServer } from '../unit/price-feed/support/vendor-server';
import { poll } from '../support/poll';

const count = async (url: string, where = 'TRUE') => (await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM price_history WHERE ${where}`))[0].n;

/** Settings some app of this file sets: unset unless given (startTestApp leaves in process.env what an earlier app set). */
const RESET = [
  'PRICE_FEED_CRON',
  'REALTIME_UPDATE_INTERVAL',
  'REALTIME_BATCH_SIZE',
  'PRICE_BACKFILL_DAYS',
  'PRICE_PROVIDERS',
  'YAHOO_BASE_URL',
  'VENDOR_TIMEOUT_MS',
];
const start = (env: Record<string, string | undefined>, opts?: Parameters<typeof startTestApp>[1]) =>
  startTestApp({ ...Object.fromEntries(RESET.map((k) => [k, undefined])), ...env }, opts);

/** Log lines of the feed's scheduler (context PriceFeed) matching `re`, since the capture started. */
const feedLines = (out: OutputCapture, re: RegExp) => out.match(re).filter((l) => l.includes('[PriceFeed]'));

describe('Scheduled feed inside the API (PRICE_FEED_MODE=inprocess), sub-second interval: the fixed-rate timer fallback', () => {
  let app: TestApp;
  const out = new OutputCapture();

  beforeAll(async () => {
    out.install();
    app = await start({ PRICE_FEED_MODE: 'inprocess', REALTIME_UPDATE_INTERVAL: '0.2', REALTIME_BATCH_SIZE: '40', PRICE_BACKFILL_DAYS: '7', LOG_LEVEL: 'log' });
  });
  afterAll(async () => {
    out.restore();
    await app?.close();
  });

  it('0.2 s has no cron expression: the batch job stays declared but idle, a 200 ms timer drives the runs, said once at start-up', () => {
    const registry = app.app.get(SchedulerRegistry);
    expect(app.app.get(PriceFeedScheduler).schedule).toEqual({ kind: 'timer', everyMs: 200, reason: expect.stringMatching(/at most once a second/) });
    expect(registry.getIntervals()).toContain(FEED_INTERVAL_NAME);
    const job = registry.getCronJob(FEED_BATCH_JOB_NAME);
    expect(job.isActive).toBe(false);
    expect(job.lastDate()).toBeNull();
    expect(registry.getCronJobs().has(FEED_DAILY_JOB_NAME)).toBe(true);
    const said = feedLines(out, /REALTIME_UPDATE_INTERVAL=0\.2 s has no cron expression/);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`fixed-rate timer (interval "${FEED_INTERVAL_NAME}") instead of the cron job "${FEED_BATCH_JOB_NAME}"`);
    expect(feedLines(out, /Price feed started: every 200 ms \(fixed-rate timer\), batches of 40/)).toHaveLength(1);
  });

  it('takes the lock and moves prices every interval, in batches', async () => {
    const status = app.app.get(PriceFeedStatus);
    await poll("status.role === 'leader'", () => status.role === 'leader');

    const batches: BusMessages['prices.committed'][] = [];
    app.app.get(MessageBus).subscribe('prices.committed', (m) => batches.push(m));
    await poll('batches.length >= 8', () => batches.length >= 8);
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
    await poll('(await missing()) === 0 || null', async () => (await missing()) === 0 || null, 20_000);
    expect(await missing()).toBe(0);
    // The 7 days before today: any 7 consecutive days hold exactly 5 weekdays, whatever today is;
    // crypto trades every day, everything else on weekdays only.
    const perType = await sql<{ asset_type: string; min: number; max: number; assets: number }>(
      app.databaseUrl,
      `SELECT asset_type, min(n)::int AS min, max(n)::int AS max, count(*)::int AS assets FROM (
         SELECT a.asset_type, count(*) AS n FROM assets a JOIN price_history h ON h.asset_id = a.id AND h."interval" = '1d'
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

  it("nightly job: daily bars from yesterday's ticks, old ticks pruned", async () => {
    const writer = app.app.get(PriceBatchWriter);
    const today = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`).getTime();
    const y = (h: number) => new Date(today - 86_400_000 + h * 3_600_000);
    // A symbol the backfill gave no bar for yesterday? Use a fresh asset to be sure.
    await sql(app.databaseUrl, `INSERT INTO assets (symbol, name, asset_type) VALUES ('ZZDAY', 'Day test', 'STOCK')`);
    for (const [h, p] of [
      [1, '10'],
      [5, '12.5'],
      [9, '9'],
      [20, '11'],
    ] as const) {
      await writer.write([{ symbol: 'ZZDAY', price: p, previous_close: null, high: null, low: null, volume: String(h * 10), as_of: y(h), source: 'test' }]);
    }
    await writer.write([
      { symbol: 'ZZDAY', price: '8', previous_close: null, high: null, low: null, volume: '1', as_of: new Date(today - 30 * 86_400_000), source: 'test' },
    ]);
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

describe.each([
  // The fallback timer every 0.1 s against runs of at least 0.7 s: about six skipped ticks per run.
  { schedule: 'fixed-rate timer', env: { REALTIME_UPDATE_INTERVAL: '0.1' }, vendorDelayMs: 700, minSkipped: 3 },
  // The cron job every second against runs of at least 2.3 s: every run spans at least two firings.
  { schedule: 'cron job', env: { PRICE_FEED_CRON: '* * * * * *', REALTIME_UPDATE_INTERVAL: '1' }, vendorDelayMs: 2300, minSkipped: 2 },
])('Scheduled runs never overlap ($schedule)', ({ env, vendorDelayMs, minSkipped }) => {
  const yahoo = new VendorServer();
  const out = new OutputCapture();
  let app: TestApp;

  beforeAll(async () => {
    await yahoo.start();
    yahoo.on('/v7/finance/quote', { fixture: 'yahoo/quote-v7-ok.json', delayMs: vendorDelayMs });
    out.install();
    app = await start({
      PRICE_FEED_MODE: 'inprocess',
      REALTIME_BATCH_SIZE: '500',
      PRICE_BACKFILL_DAYS: '0',
      PRICE_PROVIDERS: 'stocks=yahoo;*=simulated',
      YAHOO_BASE_URL: yahoo.url,
      VENDOR_TIMEOUT_MS: String(vendorDelayMs + 4000),
      ...env,
    });
  });
  afterAll(async () => {
    out.restore();
    await app?.close();
    await yahoo.stop();
  });

  it('a slow run makes the next ticks skip (counted; logged once per run, not per tick), never two runs at once', async () => {
    const status = app.app.get(PriceFeedStatus);
    await poll('status.runs >= 2', () => status.runs >= 2, 20_000);
    expect(status.skippedRuns).toBeGreaterThanOrEqual(minSkipped);
    expect(yahoo.maxInFlight).toBe(1);
    expect(yahoo.count('/v7/')).toBeLessThanOrEqual(status.runs + 1);
    // One warning per streak of skipped ticks (the run still going may have started one), however many ticks it skipped.
    const runs = status.runs;
    const skipped = status.skippedRuns;
    const warned = feedLines(out, /Previous run still in progress after \d+ ms: skipping this interval/).length;
    expect(warned).toBeGreaterThanOrEqual(1);
    expect(warned).toBeLessThanOrEqual(runs + 1);
    expect(warned).toBeLessThan(skipped);
  });
});

describe.each([
  {
    name: 'derived from REALTIME_UPDATE_INTERVAL=1',
    env: { REALTIME_UPDATE_INTERVAL: '1' },
    expression: '* * * * * *',
    everyMs: 1000,
    from: 'REALTIME_UPDATE_INTERVAL',
  },
  {
    name: 'PRICE_FEED_CRON overrides REALTIME_UPDATE_INTERVAL=0.2',
    env: { PRICE_FEED_CRON: '*/2 * * * * *', REALTIME_UPDATE_INTERVAL: '0.2' },
    expression: '*/2 * * * * *',
    everyMs: 2000,
    from: 'PRICE_FEED_CRON',
  },
])('The batch cycle is the cron job "price-feed-batch" ($name)', ({ env, expression, everyMs, from }) => {
  let app: TestApp;
  const out = new OutputCapture();

  beforeAll(async () => {
    out.install();
    app = await start({ PRICE_FEED_MODE: 'inprocess', PRICE_BACKFILL_DAYS: '0', ...env });
  });
  afterAll(async () => {
    out.restore();
    await app?.close();
  });

  it(`is registered under its name with "${expression}" (UTC), running, and no fallback timer`, () => {
    const registry = app.app.get(SchedulerRegistry);
    expect(app.app.get(PriceFeedScheduler).schedule).toEqual({ kind: 'cron', expression, from });
    const job = registry.getCronJob(FEED_BATCH_JOB_NAME);
    expect(job.isActive).toBe(true);
    expect(job.cronTime.source).toBe(expression);
    expect(job.cronTime.timeZone).toBe('UTC');
    expect(registry.getIntervals()).not.toContain(FEED_INTERVAL_NAME);
    // The cron package reads it as firing every `everyMs`, on whole seconds of the clock.
    const next = job.nextDates(3).map((d) => d.toMillis());
    expect([next[1] - next[0], next[2] - next[1]]).toEqual([everyMs, everyMs]);
    expect(next[0] % everyMs).toBe(0);
    expect(feedLines(out, /has no cron expression/)).toEqual([]);
  });

  it('its firings run the feed (after the first run, which starts as soon as the lock is taken)', async () => {
    const registry = app.app.get(SchedulerRegistry);
    const status = app.app.get(PriceFeedStatus);
    await poll("status.role === 'leader'", () => status.role === 'leader');
    await poll('status.runs >= 1', () => status.runs >= 1);
    const runs = status.runs;
    // Two more runs need two firings of the job: the lock is taken only once.
    await poll('status.runs >= runs + 2', () => status.runs >= runs + 2, everyMs * 4 + 6000);
    const fired = registry.getCronJob(FEED_BATCH_JOB_NAME).lastDate();
    expect(fired).not.toBeNull();
    expect(status.lastRunAt!.getTime()).toBeGreaterThanOrEqual(fired!.getTime());
    expect(await count(app.databaseUrl, `"interval" = 'tick'`)).toBeGreaterThan(0);
  });

  it('stop() stops the job (it stays declared) and no run follows', async () => {
    const scheduler = app.app.get(PriceFeedScheduler);
    const status = app.app.get(PriceFeedStatus);
    await scheduler.stop();
    const job = app.app.get(SchedulerRegistry).getCronJob(FEED_BATCH_JOB_NAME);
    expect(job.isActive).toBe(false);
    expect(status.role).toBe('stopped');
    const runs = status.runs;
    await observe(everyMs + 500); // a window of more than one firing: nothing may run in it
    expect(status.runs).toBe(runs);
  });
});

describe('PRICE_FEED_CRON that fires rarely (daily)', () => {
  let app: TestApp;
  const out = new OutputCapture();

  beforeAll(async () => {
    out.install();
    app = await start({ PRICE_FEED_MODE: 'inprocess', PRICE_BACKFILL_DAYS: '0', PRICE_FEED_CRON: '0 0 0 * * *', REALTIME_UPDATE_INTERVAL: '0.2' });
  });
  afterAll(async () => {
    out.restore();
    await app?.close();
  });

  it('still runs once right after start (when the lock is taken), and warns once that prices will turn stale between runs', async () => {
    const status = app.app.get(PriceFeedStatus);
    await poll('status.runs >= 1', () => status.runs >= 1);
    const job = app.app.get(SchedulerRegistry).getCronJob(FEED_BATCH_JOB_NAME);
    expect(job.isActive).toBe(true);
    expect(job.cronTime.source).toBe('0 0 0 * * *');
    const warned = feedLines(out, /PRICE_FEED_CRON "0 0 0 \* \* \*" leaves up to 86400 s between runs, but prices count as stale after 5 s/);
    expect(warned).toHaveLength(1);
  });
});

describe.each(['off', 'external'])('PRICE_FEED_MODE=%s', (mode) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await start({ PRICE_FEED_MODE: mode, REALTIME_UPDATE_INTERVAL: '0.1' });
  });
  afterAll(() => app?.close());

  it('does not run the feed in the API process', async () => {
    const registry = app.app.get(SchedulerRegistry);
    expect(registry.getIntervals()).not.toContain(FEED_INTERVAL_NAME);
    // Declared by its @Cron decorator, never started here.
    expect(registry.getCronJob(FEED_BATCH_JOB_NAME).isActive).toBe(false);
    await observe(500); // a window in which nothing may be written
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
    first = await start(env);
    await poll("first.app.get(PriceFeedStatus).role === 'leader'", () => first.app.get(PriceFeedStatus).role === 'leader');
    second = await start(env, { databaseUrl: first.databaseUrl });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.close();
  });

  it('the second stands by and takes over when the first stops', async () => {
    await observe(600); // a window in which the second must stay standby
    expect(second.app.get(PriceFeedStatus).role).toBe('standby');
    expect(second.app.get(PriceFeedStatus).runs).toBe(0);
    await first.stop();
    await poll("second.app.get(PriceFeedStatus).role === 'leader'", () => second.app.get(PriceFeedStatus).role === 'leader');
    const n = await count(first.databaseUrl);
    await poll('(await count(first.databaseUrl)) > n', async () => (await count(first.databaseUrl)) > n);
  });
});
