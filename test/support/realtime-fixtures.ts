import { MessageBus } from '../../src/bus/message-bus';
import type { PriceTick } from '../../src/bus/bus.messages';
import { AssetCatalogService } from '../../src/assets/asset-catalog.service';
import { PriceBatchWriter } from '../../src/price-feed/pipeline/price-batch.writer';
import type { TestApp } from './app';
import { sql } from './database';

let counter = 0;

/** A PriceTick with decimal strings, as the price feed publishes them. */
export function tick(symbol: string, price: string, extra: Partial<PriceTick> = {}): PriceTick {
  return {
    symbol,
    price,
    previous_close: '100',
    high: price,
    low: price,
    volume: '1000',
    as_of: new Date(Date.now() + counter++).toISOString(),
    source: 'test',
    ...extra,
  };
}

/** Publishes one 'prices.committed' batch on the app's MessageBus (the path the price feed uses). */
export async function publishTicks(t: TestApp, ticks: PriceTick[]): Promise<void> {
  await t.app.get(MessageBus).publish('prices.committed', { ticks, published_at: Date.now(), origin: 'test' });
}

let commitClock = 0;

/**
 * Stores newer prices through the batch writer (each as of now, strictly later than the last one
 * committed here) and publishes what it committed on the app's bus, as the price feed does: the
 * ticks carry their database seq. Returns the committed ticks.
 */
export async function commitPrices(t: TestApp, prices: readonly (readonly [symbol: string, price: string])[]): Promise<PriceTick[]> {
  const res = await t.app.get(PriceBatchWriter).write(
    prices.map(([symbol, price]) => ({
      symbol,
      price,
      previous_close: '100',
      high: null,
      low: null,
      volume: null,
      as_of: new Date((commitClock = Math.max(Date.now(), commitClock + 1))),
      source: 'test',
    })),
  );
  await t.app.get(MessageBus).publish('prices.committed', { ticks: res.committed, published_at: Date.now(), origin: 'test' });
  return res.committed;
}

/** Stores a daily close as the feed's backfill does: a price_history '1d' bar at 00:00 UTC of `day` (YYYY-MM-DD). */
export async function storeDailyClose(t: TestApp, symbol: string, day: string, close: string): Promise<void> {
  await sql(
    t.databaseUrl,
    `INSERT INTO price_history (asset_id, "timestamp", "interval", open, high, low, close, volume)
     SELECT id, ($2 || 'T00:00:00Z')::timestamptz, '1d', $3, $3, $3, $3, 0 FROM assets WHERE symbol = $1`,
    [symbol, day, close],
  );
}

/** Adds test-only symbols to the catalog (idempotent) and refreshes the catalog cache. */
export async function addAssets(t: TestApp, symbols: string[], price = '100'): Promise<void> {
  for (const s of symbols) {
    await sql(
      t.databaseUrl,
      `INSERT INTO assets (symbol, name, asset_type, currency, current_price, previous_close, last_updated, source)
       VALUES ($1, $2, 'STOCK', 'USD', $3, $3, now(), 'test') ON CONFLICT (symbol) DO NOTHING`,
      [s, `Test ${s}`, price],
    );
  }
  t.app.get(AssetCatalogService).invalidate();
}

/** Registers and logs in a user through the REST API; returns the `rm.sid` cookie. */
export async function loginAs(t: TestApp, username: string, password = 'correct-horse-battery'): Promise<{ cookie: string; userId: number }> {
  const reg = await fetch(`${t.url}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (reg.status !== 201 && reg.status !== 409) throw new Error(`register ${username}: HTTP ${reg.status} ${await reg.text()}`);
  const res = await fetch(`${t.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`login ${username}: HTTP ${res.status} ${await res.text()}`);
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('rm.sid='));
  if (!setCookie) throw new Error('login did not set rm.sid');
  const body = (await res.json()) as { id: number };
  return { cookie: setCookie.split(';')[0], userId: body.id };
}

export async function logout(t: TestApp, cookie: string): Promise<void> {
  const res = await fetch(`${t.url}/auth/logout`, { method: 'POST', headers: { cookie, origin: t.url } });
  if (res.status !== 200) throw new Error(`logout: HTTP ${res.status} ${await res.text()}`);
}

/** REST call with the session cookie (and a same-origin Origin header). */
export async function api<T = any>(t: TestApp, cookie: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${t.url}${path}`, {
    method,
    headers: { cookie, origin: t.url, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function createPortfolio(t: TestApp, cookie: string, name: string): Promise<number> {
  const r = await api<{ id: number }>(t, cookie, 'POST', '/api/portfolios', { name });
  if (r.status !== 201) throw new Error(`create portfolio: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

export async function addPosition(t: TestApp, cookie: string, portfolioId: number, symbol: string, quantity: string, averageCost: string): Promise<void> {
  const r = await api(t, cookie, 'POST', `/api/portfolios/${portfolioId}/positions`, { symbol, quantity, average_cost: averageCost });
  if (r.status !== 201) throw new Error(`add position: HTTP ${r.status} ${JSON.stringify(r.body)}`);
}
