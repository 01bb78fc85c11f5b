import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { api, loginAs } from '../support/realtime-fixtures';
import { WsProbe } from '../support/realtime-probes';

describe('POST /api/realtime/force_price_update/', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ FORCE_UPDATE_RATE_PER_MINUTE: '5', PRICE_BACKFILL_DAYS: '0' });
  });
  afterAll(() => t?.close());

  it('requires a login (401 JSON)', async () => {
    const res = await fetch(`${t.url}/api/realtime/force_price_update/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbols: ['AAPL'] }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ statusCode: 401, error: 'UNAUTHORIZED' });
  });

  it('validates the body (400 with details)', async () => {
    const { cookie } = await loginAs(t, 'force-validate');
    for (const body of [
      {},
      { symbols: [] },
      { symbols: 'AAPL' },
      { symbols: ['b@d'] },
      { symbols: [42] },
      { symbols: Array.from({ length: 51 }, (_, i) => `S${i}`) },
      { symbols: ['AAPL'], extra: 1 },
    ]) {
      const r = await api(t, cookie, 'POST', '/api/realtime/force_price_update/', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body).toMatchObject({ statusCode: 400, error: 'BAD_REQUEST' });
    }
  });

  it('prices the symbols now and answers per symbol; subscribers get the update over the WebSocket', async () => {
    const { cookie } = await loginAs(t, 'force-user');
    const ws = await WsProbe.open(t.wsUrl);
    try {
      await ws.next('connection');
      ws.send('subscribe_asset', { symbol: 'AAPL' });
      await ws.next('subscribed');
      ws.inbox.drain('asset_update'); // the snapshot on subscribe

      const r = await api(t, cookie, 'POST', '/api/realtime/force_price_update/', { symbols: ['aapl', 'MSFT', 'NOPE', 'MSFT'] });
      expect(r.status).toBe(200);
      expect(r.body.updated).toBe(2);
      const bySymbol: Record<string, any> = Object.fromEntries((r.body.results as { symbol: string }[]).map((x) => [x.symbol, x]));
      expect(Object.keys(bySymbol)).toEqual(['AAPL', 'MSFT', 'NOPE']);
      expect(bySymbol.NOPE).toEqual({ symbol: 'NOPE', status: 'unknown', message: 'Unknown symbol' });
      expect(bySymbol.AAPL).toMatchObject({ status: 'updated', source: 'simulated', price: expect.any(Number), previous_close: expect.any(Number) });
      const a = bySymbol.AAPL as { price: number; previous_close: number; change: number };
      expect(a.change).toBeCloseTo(a.price - a.previous_close, 6);

      const [row] = await sql<{ current_price: string }>(t.databaseUrl, `SELECT current_price FROM assets WHERE symbol = 'AAPL'`);
      expect(Number(row.current_price)).toBe(a.price);
      const update = await ws.next('asset_update', (m) => m.data.symbol === 'AAPL' && m.data.price === a.price);
      expect(update.data).toMatchObject({ symbol: 'AAPL', price: a.price });
    } finally {
      await ws.close();
    }
  });

  it('works without the trailing slash, and reports a rejected quote with its reason', async () => {
    const { cookie } = await loginAs(t, 'force-jump');
    const first = await api(t, cookie, 'POST', '/api/realtime/force_price_update', { symbols: ['TSLA'] });
    expect(first.status).toBe(200);
    expect(first.body.results[0].status).toBe('updated');
    // Someone stored a very different price: the next simulated quote is a >25% jump, held for confirmation.
    await sql(t.databaseUrl, `UPDATE assets SET current_price = current_price * 4, last_updated = now() - interval '1 minute' WHERE symbol = 'TSLA'`);
    const [before] = await sql(t.databaseUrl, `SELECT current_price, last_updated FROM assets WHERE symbol = 'TSLA'`);
    const r = await api(t, cookie, 'POST', '/api/realtime/force_price_update', { symbols: ['TSLA'] });
    expect(r.body.results[0]).toMatchObject({
      symbol: 'TSLA',
      status: 'rejected',
      reason: 'jump_unconfirmed',
      message: expect.stringMatching(/awaits confirmation/),
    });
    expect(r.body.updated).toBe(0);
    const [after] = await sql(t.databaseUrl, `SELECT current_price, last_updated FROM assets WHERE symbol = 'TSLA'`);
    expect(after).toEqual(before);
  });

  it('is throttled per user (429 with retry_after); other users are not affected', async () => {
    const { cookie } = await loginAs(t, 'force-throttle');
    for (let i = 0; i < 5; i++) {
      expect((await api(t, cookie, 'POST', '/api/realtime/force_price_update/', { symbols: ['SPY'] })).status).toBe(200);
    }
    const limited = await api(t, cookie, 'POST', '/api/realtime/force_price_update/', { symbols: ['SPY'] });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ statusCode: 429, error: 'TOO_MANY_REQUESTS', details: { retry_after: expect.any(Number) } });
    const other = await loginAs(t, 'force-other');
    expect((await api(t, other.cookie, 'POST', '/api/realtime/force_price_update/', { symbols: ['SPY'] })).status).toBe(200);
  });
});
