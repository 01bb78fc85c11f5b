import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { D } from '../../src/common/decimal';
import { startTestApp, TestApp } from '../support/app';
import { addAssets, api, createPortfolio, loginAs, storeDailyClose } from '../support/realtime-fixtures';

/** A calendar day `n` days from today (UTC), as the server counts them. */
const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

/**
 * GET /api/portfolios/{id}/history and /performance on the real app and PostgreSQL: transactions
 * entered through the REST API, daily closes stored as the feed stores them (price_history '1d'),
 * today's value at the live price. Every figure is computed by hand below.
 *
 *   day   close  transactions                         holdings   cash   value
 *   D-5   48     –                                    –          0      0
 *   D-4   50     DEPOSIT 1000; BUY PF 10 @ 50          10         500    10 × 50 + 500 = 1000
 *   D-3   55     –                                    10         500    1050
 *   D-2   60     SELL PF 5 @ 60 (realised 5 × 10 = 50)  5          800    5 × 60 + 800 = 1100
 *   D-1   58     DIVIDEND PF 5 × 1 = 5                 5          805    5 × 58 + 805 = 1095
 *   D0    62*    –  (*live price)                     5          805    5 × 62 + 805 = 1115
 */
describe('portfolio history and performance (REST)', () => {
  let t: TestApp;
  let owner: { cookie: string; userId: number };
  let id: number;
  const SYM = 'PERF1';

  beforeAll(async () => {
    t = await startTestApp({});
    await addAssets(t, [SYM], '62');
    const closes: [number, string][] = [
      [-5, '48'],
      [-4, '50'],
      [-3, '55'],
      [-2, '60'],
      [-1, '58'],
    ];
    for (const [n, close] of closes) await storeDailyClose(t, SYM, day(n), close);
    owner = await loginAs(t, 'perf-owner');
    id = await createPortfolio(t, owner.cookie, 'Performance');
    const txs = [
      { type: 'DEPOSIT', price: '1000', currency: 'USD', date: day(-4) },
      { type: 'BUY', symbol: SYM, quantity: '10', price: '50', fee: '0', currency: 'USD', date: day(-4) },
      { type: 'SELL', symbol: SYM, quantity: '5', price: '60', fee: '0', currency: 'USD', date: day(-2) },
      { type: 'DIVIDEND', symbol: SYM, quantity: '5', price: '1', currency: 'USD', date: day(-1) },
    ];
    for (const tx of txs) {
      const r = await api(t, owner.cookie, 'POST', `/api/portfolios/${id}/transactions`, tx);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('history: one point per calendar day, valued at each day’s close and today at the live price', async () => {
    const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/history?range=1w`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ portfolio_id: id, range: '1w', from: day(-6), to: day(0) });
    expect(r.body.points.map((p: { date: string; value: string }) => [p.date, p.value])).toEqual([
      [day(-6), '0'],
      [day(-5), '0'],
      [day(-4), '1000'],
      [day(-3), '1050'],
      [day(-2), '1100'],
      [day(-1), '1095'],
      [day(0), '1115'],
    ]);
    expect(r.body.points[2]).toMatchObject({ cost_basis: '500', cash: '500', net_flows: '1000', flow: '1000' });
    expect(r.body.points.at(-1)).toMatchObject({ cost_basis: '250', cash: '805', net_flows: '1000', flow: '0' });
  });

  it('performance: returns, P/L, dividends and allocation, each as computed by hand', async () => {
    const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/performance?range=1w`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const p = r.body;
    expect(p).toMatchObject({
      start_value: '0',
      end_value: '1115',
      net_flows: '1000',
      // No flow after the first day: the chain telescopes to 1115 / 1000 − 1.
      time_weighted_return: '0.115',
      time_weighted_return_annualised: null,
      realised_pl: '50',
      dividends: '5',
      fees: '0',
      // 5 × 62 − 5 × 50
      unrealised_pl: '60',
      market_value: '310',
      cost_basis: '250',
      cash: '805',
      unpriced: [],
    });
    // −1000 on D-4, +1115 on D0: (1115 / 1000)^(365 / 4) − 1.
    const expected = new D('1.115').pow(new D(365).div(4)).minus(1);
    expect(new D(p.money_weighted_return).div(expected).minus(1).abs().lt('1e-6')).toBe(true);
    // 310 / 1115 and 805 / 1115, to 10 places, summing to exactly 1.
    expect(p.allocation.by_holding).toEqual([
      { key: 'CASH', value: '805', share: '0.7219730942' },
      { key: SYM, value: '310', share: '0.2780269058' },
    ]);
    expect(p.allocation.by_asset_type.map((s: { key: string }) => s.key)).toEqual(['CASH', 'STOCK']);
    expect(p.allocation.by_currency).toEqual([
      { key: 'CASH', value: '805', share: '0.7219730942' },
      { key: 'USD', value: '310', share: '0.2780269058' },
    ]);
  });

  it('range=all starts at the first transaction', async () => {
    const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/performance?range=all`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ from: day(-4), start_value: '0', time_weighted_return: '0.115', realised_pl: '50' });
    const all = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/history?range=all`);
    expect(all.body.points.map((x: { value: string }) => x.value)).toEqual(['1000', '1050', '1100', '1095', '1115']);
  });

  it('someone else’s portfolio is 404, a bad range 400, no session 401', async () => {
    const other = await loginAs(t, 'perf-other');
    expect((await api(t, other.cookie, 'GET', `/api/portfolios/${id}/performance`)).status).toBe(404);
    expect((await api(t, other.cookie, 'GET', `/api/portfolios/${id}/history`)).status).toBe(404);
    expect((await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/history?range=2w`)).status).toBe(400);
    expect((await fetch(`${t.url}/api/portfolios/${id}/history`)).status).toBe(401);
  });
});
