import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PriceFeedStatus } from '../../src/price-feed/feed/price-feed-status.service';
import { startTestApp, TEST_BUS_SECRET, TestApp } from '../support/app';
import { sql } from '../support/database';
import { WsProbe } from '../support/realtime-probes';
import { FeedProcess, requireBuild } from '../unit/price-feed/support/feed-process';
import { observeFor } from '../support/poll';

const REDIS_URL = inject('redisUrl');

describe('price-feed process → Redis → API (PRICE_FEED_MODE=external) → WebSocket client', { timeout: 60_000 }, () => {
  const prefix = `rmtest-${randomUUID()}:`;
  let t: TestApp;
  let feed: FeedProcess;

  beforeAll(async () => {
    requireBuild();
    t = await startTestApp({ PRICE_FEED_MODE: 'external', REDIS_URL, REDIS_PREFIX: prefix, REALTIME_UPDATE_INTERVAL: '0.2' });
  });
  afterAll(async () => {
    feed?.kill('SIGKILL');
    await feed?.exited;
    await t?.close();
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  });

  it('the API does not price anything itself', async () => {
    await observeFor(400, 'the API does not run a feed');
    const [{ n }] = await sql<{ n: number }>(t.databaseUrl, `SELECT count(*)::int AS n FROM price_history`);
    expect(n).toBe(0);
    expect((await t.app.get(PriceFeedStatus).snapshot()).price_feed_running).toBe(false);
  });

  it("a WebSocket client of the API receives the separate feed's prices every interval", async () => {
    const ws = await WsProbe.open(t.wsUrl);
    try {
      await ws.next('connection');
      ws.send('subscribe_asset', { symbol: 'AAPL' });
      await ws.next('subscribed');
      ws.inbox.drain('asset_update');

      // The API's BUS_SECRET (startTestApp's): the feed's messages are signed with it.
      feed = new FeedProcess(
        { DATABASE_URL: t.databaseUrl, REDIS_URL, REDIS_PREFIX: prefix, BUS_SECRET: TEST_BUS_SECRET, PRICE_BACKFILL_DAYS: '0', LOG_LEVEL: 'log' },
        ['--interval', '0.2', '--batch-size', '100'],
      );
      await feed.waitFor(/Holding the price-feed lock/);

      const updates = [];
      for (let i = 0; i < 3; i++) updates.push(await ws.next('asset_update', (m) => m.data.symbol === 'AAPL' && m.data.source === 'simulated', 10_000));
      for (const u of updates) {
        expect(u.data).toMatchObject({
          symbol: 'AAPL',
          price: expect.any(Number),
          change: expect.any(Number),
          high: expect.any(Number),
          low: expect.any(Number),
        });
      }
      const times = updates.map((u) => Date.parse(u.data.as_of));
      expect(times[1]).toBeGreaterThan(times[0]);
      expect(times[2]).toBeGreaterThan(times[1]);
      // Each one is a newer stored price: the last one matches the database.
      const [row] = await sql<{ current_price: string }>(t.databaseUrl, `SELECT current_price FROM assets WHERE symbol = 'AAPL'`);
      const prices = [
        ...updates.map((u) => u.data.price),
        ...ws.inbox
          .drain('asset_update')
          .filter((m) => m.data.symbol === 'AAPL')
          .map((m) => m.data.price),
      ];
      expect(prices).toContain(Number(row.current_price));

      // The API's status knows a separate feed is running (its heartbeat in Redis).
      const snap = await t.app.get(PriceFeedStatus).snapshot();
      expect(snap).toMatchObject({ mode: 'external', role: 'disabled', price_feed_running: true, external_feed: { role: 'leader', pid: feed.child.pid } });
    } finally {
      await ws.close();
    }
    feed.kill('SIGTERM');
    expect((await feed.exited).code).toBe(0);
  });
});
