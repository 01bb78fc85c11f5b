import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TestApp } from '../support/app';
import { addAssets, api, createPortfolio, loginAs } from '../support/realtime-fixtures';

const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

/** GET /api/portfolios/:id/transactions a page at a time: limit, offset, order; bad values are 400. */
describe('transactions: pages', () => {
  let t: TestApp;
  let owner: { cookie: string; userId: number };
  let id: number;

  beforeAll(async () => {
    t = await startTestApp({});
    await addAssets(t, ['PAGE1'], '10');
    owner = await loginAs(t, 'pages-owner');
    id = await createPortfolio(t, owner.cookie, 'Pages');
    // Five buys, entered newest date first: replay order is by date, then id.
    for (let i = 0; i < 5; i++) {
      const r = await api(t, owner.cookie, 'POST', `/api/portfolios/${id}/transactions`, {
        type: 'BUY',
        symbol: 'PAGE1',
        quantity: String(i + 1),
        price: '10',
        date: day(-1 - i),
      });
      expect(r.status).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  const quantities = (body: { items: { quantity: string }[] }) => body.items.map((x) => x.quantity);

  it('defaults to the whole ledger in replay order, and says how it was paged', async () => {
    const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/transactions`);
    expect(r.status).toBe(200);
    expect(quantities(r.body)).toEqual(['5', '4', '3', '2', '1']);
    expect(r.body).toMatchObject({ total: 5, limit: 1000, offset: 0 });
  });

  it('limit and offset take a slice; total still counts every transaction', async () => {
    const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/transactions?limit=2&offset=1`);
    expect(quantities(r.body)).toEqual(['4', '3']);
    expect(r.body).toMatchObject({ total: 5, limit: 2, offset: 1 });
    const past = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/transactions?offset=10`);
    expect(past.body).toMatchObject({ items: [], total: 5 });
  });

  it('order=desc gives the newest first', async () => {
    const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/transactions?order=desc&limit=3`);
    expect(quantities(r.body)).toEqual(['1', '2', '3']);
  });

  it('bad paging values are 400 with the field named', async () => {
    for (const q of ['limit=0', 'limit=5001', 'offset=-1', 'limit=abc', 'order=up']) {
      const r = await api(t, owner.cookie, 'GET', `/api/portfolios/${id}/transactions?${q}`);
      expect(r.status, q).toBe(400);
      expect(JSON.stringify(r.body), q).toMatch(/limit|offset|order/);
    }
  });
});
