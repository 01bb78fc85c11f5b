import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { DAILY_VALUES_LOCK, DailyValuesJob } from '../../src/portfolios/daily-values/daily-values.job';
import { DailyValuesService } from '../../src/portfolios/daily-values/daily-values.service';
import { DailyValuesStore } from '../../src/portfolios/daily-values/daily-values.store';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { poll } from '../support/poll';
import { addAssets, api, createPortfolio, loginAs, storeDailyClose } from '../support/realtime-fixtures';

/** A calendar day `n` days from today (UTC), as the server counts them. */
const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

/**
 * The stored value history (portfolio_daily_values): filled by history reads, by the daily job and
 * by the backfill after a change of transactions or of base currency; forgotten from the earliest
 * day a change touches. Real app and PostgreSQL.
 *
 *   day   close  transactions           value
 *   D-4   50     DEPOSIT 1000; BUY 10   1000
 *   D-3   55     –                      1050
 *   D-2   60     –                      1100
 *   D-1   58     –                      1080
 *   D0    62*    (* live)               1120
 */
describe('stored daily values', () => {
  let t: TestApp;
  let owner: { cookie: string; userId: number };
  let id: number;
  const SYM = 'DV1';

  const stored = async (): Promise<[string, string][]> =>
    (
      await sql<{ day: string; value: string }>(
        t.databaseUrl,
        `SELECT to_char(day, 'YYYY-MM-DD') AS day, value::text FROM portfolio_daily_values WHERE portfolio_id = $1 ORDER BY day`,
        [id],
      )
    ).map((r) => [r.day, String(Number(r.value))]);
  const history = async (range = '1w') => {
    const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/history?range=${range}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.points.map((p: { date: string; value: string }) => [p.date, p.value]);
  };

  beforeAll(async () => {
    t = await startTestApp({});
    await addAssets(t, [SYM], '62');
    for (const [n, close] of [
      [-4, '50'],
      [-3, '55'],
      [-2, '60'],
      [-1, '58'],
    ] as const)
      await storeDailyClose(t, SYM, day(n), close);
    owner = await loginAs(t, 'daily-owner');
    id = await createPortfolio(t, owner.cookie, 'Daily');
    for (const tx of [
      { type: 'DEPOSIT', price: '1000', currency: 'USD', date: day(-4) },
      { type: 'BUY', symbol: SYM, quantity: '10', price: '50', currency: 'USD', date: day(-4) },
    ]) {
      expect((await api(t, owner.cookie, 'POST', `/api/portfolios/${id}/transactions`, tx)).status).toBe(201);
    }
    await t.app.get(DailyValuesService).idle();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a change of transactions backfills the days up to yesterday; today is never stored', async () => {
    expect(await stored()).toEqual([
      [day(-4), '1000'],
      [day(-3), '1050'],
      [day(-2), '1100'],
      [day(-1), '1080'],
    ]);
    expect(await history()).toEqual([
      [day(-6), '0'],
      [day(-5), '0'],
      [day(-4), '1000'],
      [day(-3), '1050'],
      [day(-2), '1100'],
      [day(-1), '1080'],
      [day(0), '1120'],
    ]);
  });

  it('history reads the stored days (a stored figure is what it answers)', async () => {
    await sql(t.databaseUrl, `UPDATE portfolio_daily_values SET value = 1234.5 WHERE portfolio_id = $1 AND day = $2`, [id, day(-3)]);
    const points = await history();
    expect(points[3]).toEqual([day(-3), '1234.5']);
    expect(points.at(-1)).toEqual([day(0), '1120']);
  });

  it('a transaction dated in the past forgets the stored days from its date and backfills them', async () => {
    // SELL 5 @ 60 on D-2: D-2 = 5 × 60 + 800 = 1100, D-1 = 5 × 58 + 800 = 1090. D-3 keeps its stored (edited) figure.
    const r = await api(t, owner.cookie, 'POST', `/api/portfolios/${id}/transactions`, {
      type: 'SELL',
      symbol: SYM,
      quantity: '5',
      price: '60',
      currency: 'USD',
      date: day(-2),
    });
    expect(r.status).toBe(201);
    await t.app.get(DailyValuesService).idle();
    expect(await stored()).toEqual([
      [day(-4), '1000'],
      [day(-3), '1234.5'],
      [day(-2), '1100'],
      [day(-1), '1090'],
    ]);
    // Deleting it: forgotten from D-2 again, and backfilled as before the sale.
    const list = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/transactions`);
    const sell = list.body.items.find((x: { type: string }) => x.type === 'SELL');
    expect((await api(t, owner.cookie, 'DELETE', `/api/portfolios/${id}/transactions/${sell.id}`)).status).toBe(204);
    await t.app.get(DailyValuesService).idle();
    expect((await stored()).slice(2)).toEqual([
      [day(-2), '1100'],
      [day(-1), '1080'],
    ]);
  });

  it('the daily job brings every portfolio up to yesterday', async () => {
    const other = await createPortfolio(t, owner.cookie, 'Daily 2');
    await sql(t.databaseUrl, `DELETE FROM portfolio_daily_values`);
    // Written by SQL alone (no backfill ran): the job finds it too.
    await sql(
      t.databaseUrl,
      `INSERT INTO transactions (portfolio_id, type, asset_id, quantity, price, fee, currency, date)
       SELECT $1, 'BUY', id, 2, 50, 0, 'USD', $2::date FROM assets WHERE symbol = $3`,
      [other, day(-2), SYM],
    );
    const run = await t.app.get(DailyValuesService).runDaily();
    expect(run.failed).toBe(0);
    expect(run.portfolios).toBeGreaterThanOrEqual(2);
    expect(await stored()).toEqual([
      [day(-4), '1000'],
      [day(-3), '1050'],
      [day(-2), '1100'],
      [day(-1), '1080'],
    ]);
    const rows = await sql<{ day: string; value: string }>(
      t.databaseUrl,
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, value::text FROM portfolio_daily_values WHERE portfolio_id = $1 ORDER BY day`,
      [other],
    );
    // 2 × 60, 2 × 58
    expect(rows.map((r) => [r.day, String(Number(r.value))])).toEqual([
      [day(-2), '120'],
      [day(-1), '116'],
    ]);
  });

  it('of several instances on one database only one runs the daily job (advisory lock); a free lock lets it run', async () => {
    await sql(t.databaseUrl, `DELETE FROM portfolio_daily_values`);
    const job = t.app.get(DailyValuesJob);
    // Another instance's run: a session holding the job's lock.
    const other = new Client({ connectionString: t.databaseUrl });
    await other.connect();
    try {
      expect((await other.query('SELECT pg_try_advisory_lock($1, $2) AS locked', [...DAILY_VALUES_LOCK])).rows[0].locked).toBe(true);
      expect(await job.run()).toBeNull();
      expect(await stored()).toEqual([]);
      await other.query('SELECT pg_advisory_unlock($1, $2)', [...DAILY_VALUES_LOCK]);
      const run = await job.run();
      expect(run?.failed).toBe(0);
      expect((await stored()).at(-1)).toEqual([day(-1), '1080']);
      // The run let go of the lock: another instance can take it now.
      expect((await other.query('SELECT pg_try_advisory_lock($1, $2) AS locked', [...DAILY_VALUES_LOCK])).rows[0].locked).toBe(true);
    } finally {
      await other.end();
    }
  });

  it('days computed from transactions that changed meanwhile are not stored', async () => {
    const store = t.app.get(DailyValuesStore);
    await sql(t.databaseUrl, `DELETE FROM portfolio_daily_values WHERE portfolio_id = $1`, [id]);
    await store.write(id, [{ date: day(-3), value: '1', cost: '1', cash: '0', netFlows: '1', flow: '0' }], '1');
    expect(await stored()).toEqual([]);
  });

  it('a new base currency forgets every stored day and backfills them converted', async () => {
    await sql(
      t.databaseUrl,
      `INSERT INTO assets (symbol, name, asset_type, currency, exchange, current_price, previous_close, last_updated, source)
       VALUES ('EURUSD', 'Euro / US Dollar', 'FOREX', 'USD', 'FX', 2, 2, now(), 'test')
       ON CONFLICT (symbol) DO UPDATE SET asset_type = 'FOREX', current_price = 2, previous_close = 2, last_updated = now()`,
    );
    await sql(
      t.databaseUrl,
      `INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close, volume)
       SELECT id, ($1 || 'T00:00:00Z')::timestamptz, '1d', 2, 2, 2, 2, 0 FROM assets WHERE symbol = 'EURUSD'
       ON CONFLICT DO NOTHING`,
      [day(-5)],
    );
    await history();
    await poll('the read to store its days', async () => (await stored()).length === 4);
    expect((await api(t, owner.cookie, 'PATCH', `/api/portfolios/${id}`, { base_currency: 'EUR' })).status).toBe(200);
    await t.app.get(DailyValuesService).idle();
    expect(await stored()).toEqual([
      [day(-4), '500'],
      [day(-3), '525'],
      [day(-2), '550'],
      [day(-1), '540'],
    ]);
  });
});
