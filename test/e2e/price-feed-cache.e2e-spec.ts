import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PriceTick } from '../../src/bus/bus.messages';
import { MessageBus } from '../../src/bus/message-bus';
import { LatestPriceCache } from '../../src/price-feed/cache/latest-price.cache';
import { LatestPriceSource } from '../../src/price-feed/latest-price.source';
import { PricePipeline } from '../../src/price-feed/pipeline/price-pipeline.service';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { poll } from '../support/poll';

const REDIS_URL = inject('redisUrl');

function tick(symbol: string, price: string, asOf: Date, extra: Partial<PriceTick> = {}): PriceTick {
  return { symbol, price, previous_close: '100', high: price, low: price, volume: '10', as_of: asOf.toISOString(), source: 'test', ...extra };
}

describe('LatestPriceSource (cache)', () => {
  let app: TestApp;
  const prefix = `rmtest-${randomUUID()}:`;
  let redis: Redis;

  beforeAll(async () => {
    app = await startTestApp({ REDIS_URL, REDIS_PREFIX: prefix, REALTIME_UPDATE_INTERVAL: '1' });
    redis = new Redis(REDIS_URL);
    await sql(
      app.databaseUrl,
      `INSERT INTO assets (symbol, name, asset_type, current_price, previous_close, day_high, day_low, volume, last_updated, source)
       VALUES ('ZZDB', 'Db Only', 'STOCK', 12.5, 12, 13, 12, 1000, now() - interval '1 hour', 'seed'),
              ('ZZNULL', 'No price', 'STOCK', NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
    );
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await app?.close();
  });

  it('is provided as LatestPriceSource and falls back to the assets table', async () => {
    const src = app.app.get(LatestPriceSource);
    expect(src).toBeInstanceOf(LatestPriceCache);
    const t = await src.get('zzdb');
    expect(t).toMatchObject({ symbol: 'ZZDB', price: '12.5', previous_close: '12', high: '13', low: '12', volume: '1000', source: 'seed' });
    expect(src.isStale(t!)).toBe(true);
    expect(await src.get('ZZNULL')).toBeNull();
    expect(await src.get('NOPE')).toBeNull();
  });

  it('ignores what does not pass the tick rules in Redis (malformed, negative, another symbol) and answers from the database', async () => {
    const cache = app.app.get(LatestPriceCache);
    const fresh = async () => {
      cache.clearMemory(); // read through to Redis every time
      return (await cache.get('ZZDB'))?.price;
    };
    const good = tick('ZZDB', '99', new Date());
    await redis.set(`${prefix}price:ZZDB`, JSON.stringify(good));
    expect(await fresh()).toBe('99'); // a valid entry is used
    await redis.set(`${prefix}price:ZZDB`, JSON.stringify({ ...good, price: '-5' }));
    expect(await fresh()).toBe('12.5');
    await redis.set(`${prefix}price:ZZDB`, '{not json');
    expect(await fresh()).toBe('12.5');
    await redis.set(`${prefix}price:ZZDB`, JSON.stringify({ ...good, symbol: 'AAPL' }));
    expect(await fresh()).toBe('12.5');
    await redis.set(`${prefix}price:ZZDB`, JSON.stringify({ ...good, as_of: new Date(Date.now() + 3_600_000).toISOString() }));
    expect(await fresh()).toBe('12.5');
    await redis.del(`${prefix}price:ZZDB`);
    cache.clearMemory();
  });

  it('updates its memory from prices.committed and keeps the newer quote (no Redis write on the fan-out path)', async () => {
    const src = app.app.get(LatestPriceSource);
    const bus = app.app.get(MessageBus);
    await bus.ready();
    const now = new Date();
    await bus.publish('prices.committed', { ticks: [tick('ZZBUS', '50.25', now)], published_at: Date.now(), origin: 'test' });
    const got = await poll(
      "(await src.get('ZZBUS'))?.price === '50.25' && (await src.get('ZZBU...",
      async () => (await src.get('ZZBUS'))?.price === '50.25' && (await src.get('ZZBUS')),
    );
    expect(got && src.isStale(got)).toBe(false);
    // An older quote arriving later does not win.
    await bus.publish('prices.committed', { ticks: [tick('ZZBUS', '49', new Date(now.getTime() - 60_000))], published_at: Date.now(), origin: 'test' });
    await bus.publish('prices.committed', { ticks: [tick('ZZOTHER', '1', now)], published_at: Date.now(), origin: 'test' });
    await poll("!!(await src.get('ZZOTHER'))", async () => !!(await src.get('ZZOTHER')));
    expect((await src.get('ZZBUS'))?.price).toBe('50.25');
    // The committing process writes Redis (PricePipeline → put); a bus subscriber does not.
    expect(await redis.get(`${prefix}price:ZZBUS`)).toBeNull();
  });

  it('put (the committing process) writes memory and Redis with a TTL, newer quote wins', async () => {
    const cache = app.app.get(LatestPriceCache);
    const now = new Date();
    await cache.put([tick('ZZPUT', '42.5', now)]);
    await cache.put([tick('ZZPUT', '41', new Date(now.getTime() - 60_000))]);
    expect((await cache.get('ZZPUT'))?.price).toBe('42.5');
    const raw = await redis.get(`${prefix}price:ZZPUT`);
    expect(JSON.parse(raw!).price).toBe('42.5');
    const ttl = await redis.ttl(`${prefix}price:ZZPUT`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it('a committed pipeline batch lands in Redis for the other processes', async () => {
    const pipeline = app.app.get(PricePipeline);
    const report = await pipeline.runBatch(['AAPL'], { origin: 'test' });
    expect(report.committed.map((t) => t.symbol)).toEqual(['AAPL']);
    const raw = await redis.get(`${prefix}price:AAPL`);
    expect(JSON.parse(raw!)).toMatchObject({ symbol: 'AAPL', price: report.committed[0].price });
  });

  it('serves from Redis when memory is empty (another process committed the price)', async () => {
    const cache = app.app.get(LatestPriceCache);
    await redis.set(`${prefix}price:ZZREDIS`, JSON.stringify(tick('ZZREDIS', '7.5', new Date())), 'EX', 60);
    cache.clearMemory();
    const many = await cache.getMany(['ZZREDIS', 'ZZDB', 'MISSING']);
    expect(many.get('ZZREDIS')?.price).toBe('7.5');
    expect(many.get('ZZDB')?.price).toBe('12.5');
    expect(many.has('MISSING')).toBe(false);
    const s = cache.summary();
    expect(s.cached_symbols).toBeGreaterThanOrEqual(2);
    expect(s.stale_symbols).toContain('ZZDB');
    expect(s.stale_symbols).not.toContain('ZZREDIS');
  });

  it('an API that starts loads every stored price into memory: the first snapshot of a symbol reads no database', async () => {
    const priced = Number((await sql(app.databaseUrl, 'SELECT count(*)::int AS n FROM assets WHERE current_price IS NOT NULL'))[0].n);
    const stored = (await sql(app.databaseUrl, `SELECT current_price::text AS p FROM assets WHERE symbol = 'ZZDB'`))[0].p as string;
    // A second API on the same database, no Redis: what it knows comes from its warm-up or from the assets table.
    const second = await startTestApp({}, { databaseUrl: app.databaseUrl });
    try {
      const cache = second.app.get(LatestPriceCache);
      await poll('the warm-up to have loaded every priced asset', () => cache.summary().cached_symbols >= priced);
      await sql(app.databaseUrl, `UPDATE assets SET current_price = current_price + 1000 WHERE symbol = 'ZZDB'`);
      // Still the price loaded at start: the read came from memory, not from the table.
      expect((await cache.get('ZZDB'))?.price).toBe(String(Number(stored)));
      cache.clearMemory();
      expect(Number((await cache.get('ZZDB'))?.price)).toBe(Number(stored) + 1000); // the table, once memory is gone
    } finally {
      await sql(app.databaseUrl, `UPDATE assets SET current_price = current_price - 1000 WHERE symbol = 'ZZDB'`);
      await second.stop();
    }
  });
});
