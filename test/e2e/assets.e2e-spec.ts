import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/assets/catalog/catalog';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';

const catalog = loadCatalog();

describe('assets API', () => {
  let t: TestApp;
  let staff: ReturnType<typeof request.agent>;
  let user: ReturnType<typeof request.agent>;

  beforeAll(async () => {
    t = await startTestApp();
    for (const name of ['staffer', 'plainuser']) {
      await request(t.url).post('/auth/register').send({ username: name, password: 'password-123' }).expect(201);
    }
    await sql(t.databaseUrl, `UPDATE users SET is_staff = true WHERE username = 'staffer'`);
    staff = request.agent(t.url);
    await staff.post('/auth/login').send({ username: 'staffer', password: 'password-123' }).expect(200);
    user = request.agent(t.url);
    await user.post('/auth/login').send({ username: 'plainuser', password: 'password-123' }).expect(200);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists the catalog with paging (default limit 50) without logging in', async () => {
    const res = await request(t.url).get('/api/assets');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(catalog.length);
    expect(res.body.limit).toBe(50);
    expect(res.body.offset).toBe(0);
    expect(res.body.items).toHaveLength(50);
    const symbols = res.body.items.map((a: { symbol: string }) => a.symbol);
    expect(symbols).toEqual([...symbols].sort());

    const page2 = await request(t.url).get('/api/assets?limit=500&offset=100');
    expect(page2.body.items).toHaveLength(catalog.length - 100);
    expect(page2.body).toMatchObject({ limit: 500, offset: 100, total: catalog.length });
  });

  it('shows an asset in snake_case with decimal strings, change and change_percent', async () => {
    await sql(
      t.databaseUrl,
      `UPDATE assets SET current_price = 152.75, previous_close = 150.25, day_high = 153, day_low = 149.5, volume = 50000000, last_updated = now(), source = 'test' WHERE symbol = 'AAPL'`,
    );
    const res = await request(t.url).get('/api/assets/aapl');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      symbol: 'AAPL',
      name: 'Apple Inc.',
      asset_type: 'STOCK',
      currency: 'USD',
      exchange: 'NASDAQ',
      current_price: '152.75',
      previous_close: '150.25',
      day_high: '153',
      day_low: '149.5',
      volume: '50000000',
      last_updated: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      source: 'test',
      change: '2.5',
      change_percent: '1.6639', // 2.5 / 150.25 * 100 = 1.66389...
    });
  });

  it('filters by type and searches symbol prefix and name, case-insensitively', async () => {
    const crypto = await request(t.url).get('/api/assets?type=crypto&limit=500');
    expect(crypto.status).toBe(200);
    expect(crypto.body.total).toBe(catalog.filter((e) => e.asset_type === 'CRYPTO').length);
    expect(crypto.body.items.every((a: { asset_type: string }) => a.asset_type === 'CRYPTO')).toBe(true);

    const byPrefix = await request(t.url).get('/api/assets?q=ms');
    expect(byPrefix.body.items.map((a: { symbol: string }) => a.symbol)).toEqual(expect.arrayContaining(['MSFT', 'MS']));
    const byName = await request(t.url).get('/api/assets?q=APPLE');
    expect(byName.body.items.map((a: { symbol: string }) => a.symbol)).toEqual(['AAPL']);
    const both = await request(t.url).get('/api/assets?q=bit&type=CRYPTO');
    expect(both.body.items.map((a: { symbol: string }) => a.symbol).sort()).toEqual(['BCH-USD', 'BTC-USD']);
    const wildcard = await request(t.url).get('/api/assets?q=%25');
    expect(wildcard.body.total).toBe(0);
  });

  it.each([
    ['limit=501', /limit must not be greater than 500/],
    ['limit=0', /limit must not be less than 1/],
    ['limit=abc', /limit must be an integer/],
    ['offset=-1', /offset must not be less than 0/],
    ['type=OPTION', /type must be one of/],
    ['foo=1', /property foo should not exist/],
    [`q=${'x'.repeat(101)}`, /q must be shorter/],
  ])('rejects ?%s with 400', async (qs, message) => {
    const res = await request(t.url).get(`/api/assets?${qs}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(message);
  });

  it('answers an unknown symbol with a JSON 404', async () => {
    const res = await request(t.url).get('/api/assets/NOPE');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, error: 'NOT_FOUND', message: 'Asset NOPE not found' });
    expect((await request(t.url).get('/api/assets/NOPE/history')).status).toBe(404);
  });

  it('returns daily history of the last N days, oldest first', async () => {
    await sql(
      t.databaseUrl,
      `INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close, volume)
       SELECT a.id, date_trunc('day', now()) - make_interval(days => d), '1d', 100 + d, 101 + d, 99 + d, 100.5 + d, 1000 * d
       FROM assets a, generate_series(0, 40) d WHERE a.symbol = 'MSFT'`,
    );
    await sql(
      t.databaseUrl,
      `INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close, volume)
       SELECT id, now(), 'tick', 1, 1, 1, 1, 1 FROM assets WHERE symbol = 'MSFT'`,
    );
    const res = await request(t.url).get('/api/assets/MSFT/history?days=7');
    expect(res.status).toBe(200);
    expect(res.body.symbol).toBe('MSFT');
    expect(res.body.interval).toBe('1d');
    expect(res.body.items).toHaveLength(7); // days 0..6 (day 7 is just older than now - 7 days)
    const closes = res.body.items.map((p: { close: string }) => p.close);
    expect(closes[0]).toBe('106.5');
    expect(closes[closes.length - 1]).toBe('100.5');
    const times = res.body.items.map((p: { timestamp: string }) => Date.parse(p.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const dflt = await request(t.url).get('/api/assets/MSFT/history');
    expect(dflt.body.days).toBe(30);
    expect(dflt.body.items).toHaveLength(30);
    expect((await request(t.url).get('/api/assets/MSFT/history?days=0')).status).toBe(400);
  });

  it('lets only staff add an asset, and the new symbol is known at once', async () => {
    const body = { symbol: ' pltr.w ', name: 'Palantir Warrants', asset_type: 'stock', exchange: 'NYSE', price: '12.3400' };
    expect((await request(t.url).post('/api/assets').send(body)).status).toBe(401);
    const forbidden = await user.post('/api/assets').send(body);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ statusCode: 403, error: 'FORBIDDEN' });

    const created = await staff.post('/api/assets').send(body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      symbol: 'PLTR.W',
      asset_type: 'STOCK',
      currency: 'USD',
      current_price: '12.34',
      previous_close: '12.34',
      change: '0',
    });
    expect((await request(t.url).get('/api/assets/PLTR.W')).status).toBe(200);

    const dup = await staff.post('/api/assets').send(body);
    expect(dup.status).toBe(409);
    const bad = await staff.post('/api/assets').send({ symbol: 'bad symbol', name: 'x', asset_type: 'STOCK' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/symbol must be/);
  });
});
