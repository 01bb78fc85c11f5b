import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { PortfolioValuationSource } from '../../src/portfolios/valuation/valuation.types';
import { poll } from '../support/poll';
import { addAssets, api, commitPrices, loginAs, storeDailyClose } from '../support/realtime-fixtures';
import { openProbe } from '../support/realtime-probes';

/** A calendar day `n` days from today (UTC), as the server counts them. */
const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

/**
 * A portfolio in EUR holding a stock quoted in USD (the catalog's EURUSD converts: USD → EUR divides
 * by it). History, performance and the FX effect on the real app and PostgreSQL; every figure by hand.
 *
 *   day   EURUSD  FXA (USD)  transactions (USD)                    in EUR                        holdings  cash       value (EUR)
 *   D-3   1.25    100        BUY 10 @ 100                          @ 80: cost 800                10        0          10 × 80 = 800
 *   D-2   1.28    128        SELL 4 @ 128                          @ 100: realised 4 × 20 = 80   6         400        6 × 100 + 400 = 1000
 *   D-1   1.024   102.4      DEPOSIT 100 USD                       97.65625                      6         497.65625  6 × 100 + 497.65625
 *   D0    1.28*   128*       (* live)                                                            6         497.65625  1097.65625
 *
 * Now: market value 6 × 128 / 1.28 = 600 EUR, cost 6 × 80 = 480 EUR, unrealised 120 EUR. In USD the
 * 6 shares cost 600; at today's rate that is 600 / 1.28 = 468.75 EUR, so the rate's share of the
 * unrealised P/L is 468.75 − 480 = −11.25 EUR (and the price's (768 − 600) / 1.28 = 131.25 EUR).
 */
describe('portfolio in a base currency (REST history and performance)', () => {
  let t: TestApp;
  let owner: { cookie: string; userId: number };
  let id: number;
  const SYM = 'FXA';

  beforeAll(async () => {
    t = await startTestApp({});
    await addAssets(t, [SYM], '128');
    await sql(
      t.databaseUrl,
      `INSERT INTO assets (symbol, name, asset_type, currency, exchange, current_price, previous_close, last_updated, source)
       VALUES ('EURUSD', 'Euro / US Dollar', 'FOREX', 'USD', 'FX', 1.28, 1.024, now(), 'test')
       ON CONFLICT (symbol) DO UPDATE SET asset_type = 'FOREX', current_price = 1.28, previous_close = 1.024, last_updated = now()`,
    );
    for (const [n, eurusd, fxa] of [
      [-3, '1.25', '100'],
      [-2, '1.28', '128'],
      [-1, '1.024', '102.4'],
    ] as const) {
      await storeDailyClose(t, 'EURUSD', day(n), eurusd);
      await storeDailyClose(t, SYM, day(n), fxa);
    }
    owner = await loginAs(t, 'fx-owner');
    const created = await api(t, owner.cookie, 'POST', '/api/portfolios', { name: 'In euros', base_currency: 'EUR' });
    expect(created.status).toBe(201);
    id = created.body.id;
    for (const tx of [
      { type: 'BUY', symbol: SYM, quantity: '10', price: '100', currency: 'USD', date: day(-3) },
      { type: 'SELL', symbol: SYM, quantity: '4', price: '128', currency: 'USD', date: day(-2) },
      { type: 'DEPOSIT', price: '100', currency: 'USD', date: day(-1) },
    ]) {
      const r = await api(t, owner.cookie, 'POST', `/api/portfolios/${id}/transactions`, tx);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('history is in the base currency: each day at that day’s close and rate, today at live ones', async () => {
    const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/history?range=1w`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.base_currency).toBe('EUR');
    expect(r.body.points.map((p: { date: string; value: string }) => [p.date, p.value])).toEqual([
      [day(-6), '0'],
      [day(-5), '0'],
      [day(-4), '0'],
      [day(-3), '800'],
      [day(-2), '1000'],
      [day(-1), '1097.65625'],
      [day(0), '1097.65625'],
    ]);
    expect(r.body.points[3]).toMatchObject({ cost_basis: '800', cash: '0', net_flows: '800', flow: '800' });
    expect(r.body.points.at(-1)).toMatchObject({ cost_basis: '480', cash: '497.65625', net_flows: '897.65625' });
  });

  it('performance: P/L in euros with the exchange rate’s share reported apart', async () => {
    const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/performance?range=1w`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      base_currency: 'EUR',
      end_value: '1097.65625',
      realised_pl: '80',
      market_value: '600',
      cost_basis: '480',
      unrealised_pl: '120',
      unrealised_fx_effect: '-11.25',
      cash: '497.65625',
    });
    expect(r.body.allocation.by_currency).toEqual([
      // 600 / 1097.65625 and 497.65625 / 1097.65625, to 10 places.
      { key: 'USD', value: '600', share: '0.5466192171' },
      { key: 'CASH', value: '497.65625', share: '0.4533807829' },
    ]);
  });

  it('a USD portfolio of the same trades reports no FX effect and dollar amounts', async () => {
    const usd = await api(t, owner.cookie, 'POST', '/api/portfolios', { name: 'In dollars' });
    await api(t, owner.cookie, 'POST', `/api/portfolios/${usd.body.id}/transactions`, {
      type: 'BUY',
      symbol: SYM,
      quantity: '6',
      price: '100',
      currency: 'USD',
      date: day(-3),
    });
    const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${usd.body.id}/performance?range=1w`);
    expect(r.body).toMatchObject({ base_currency: 'USD', market_value: '768', cost_basis: '600', unrealised_pl: '168', unrealised_fx_effect: '0' });
  });

  it('a base currency the catalog cannot convert into is a clear 422, not wrong numbers', async () => {
    const sek = await api(t, owner.cookie, 'POST', '/api/portfolios', { name: 'In kronor', base_currency: 'SEK' });
    expect(sek.status).toBe(201);
    const tx = await api(t, owner.cookie, 'POST', `/api/portfolios/${sek.body.id}/transactions`, {
      type: 'BUY',
      symbol: SYM,
      quantity: '1',
      price: '100',
      currency: 'USD',
      date: day(-3),
    });
    expect(tx.status).toBe(201);
    const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${sek.body.id}/performance`);
    expect(r.status).toBe(422);
    expect(r.body.message).toMatch(/USD.*SEK/);
    expect(r.body.details).toEqual({ code: 'NO_EXCHANGE_RATE', currency: 'USD', base_currency: 'SEK' });
  });

  it('live: the value in euros moves with the stock and with the rate, over the socket and in REST alike', async () => {
    const engine = t.app.get(PortfolioValuationSource);
    await commitPrices(t, [
      ['EURUSD', '1.28'],
      [SYM, '128'],
    ]);
    await poll('the live value to be 6 × 128 / 1.28', async () => (await engine.snapshot(id))?.total_value === '600');
    expect((await api(t, owner.cookie, 'GET', `/api/portfolios/${id}`)).body).toMatchObject({ base_currency: 'EUR', total_value: '600' });
    for (const kind of ['websocket', 'socketio'] as const) {
      const p = await openProbe(kind, t, { origin: t.url, cookie: owner.cookie });
      try {
        await p.next('connection');
        p.send('subscribe_portfolio', { portfolio_id: id });
        await p.next('subscribed');
        expect((await p.next('portfolio_update')).data.total_value).toBe(600);
        // The rate alone moves: 768 USD / 1.6.
        await commitPrices(t, [['EURUSD', '1.6']]);
        expect((await p.next('portfolio_update', (m) => m.data.total_value !== 600)).data.total_value).toBe(480);
        // The stock alone moves: 6 × 160 / 1.6.
        await commitPrices(t, [[SYM, '160']]);
        expect((await p.next('portfolio_update', (m) => m.data.total_value !== 480)).data.total_value).toBe(600);
        expect((await api(t, owner.cookie, 'GET', `/api/portfolios/${id}`)).body.total_value).toBe('600');
        await commitPrices(t, [
          ['EURUSD', '1.28'],
          [SYM, '128'],
        ]);
        await p.next('portfolio_update', (m) => m.data.total_value === 600 && !m.data.stale);
      } finally {
        await p.close();
      }
    }
    // A new base currency: the same holdings, now in dollars, pushed live.
    const p = await openProbe('websocket', t, { origin: t.url, cookie: owner.cookie });
    try {
      await p.next('connection');
      p.send('subscribe_portfolio', { portfolio_id: id });
      await p.next('portfolio_update');
      expect((await api(t, owner.cookie, 'PATCH', `/api/portfolios/${id}`, { base_currency: 'USD' })).status).toBe(200);
      expect((await p.next('portfolio_update', (m) => m.data.total_value !== 600)).data.total_value).toBe(768);
    } finally {
      await p.close();
    }
  });
});
