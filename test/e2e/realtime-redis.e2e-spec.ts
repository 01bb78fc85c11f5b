import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MessageBus } from '../../src/bus/message-bus';
import { startTestApp, TestApp } from '../support/app';
import { publishTicks, tick } from '../support/realtime-fixtures';
import { IoProbe, WsProbe } from '../support/realtime-probes';

const REDIS_URL = inject('redisUrl');

/** Two API instances on one Redis bus: a price batch published on one reaches subscribers on both. */
describe('realtime over the Redis bus (two instances)', () => {
  let a: TestApp;
  let b: TestApp;
  const env = { REDIS_URL, REDIS_PREFIX: `rmtest:${randomBytes(6).toString('hex')}:` };

  beforeAll(async () => {
    a = await startTestApp(env);
    b = await startTestApp(env);
    await Promise.all([a.app.get(MessageBus).ready(), b.app.get(MessageBus).ready()]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('fans a batch published on instance A out to raw WebSocket and Socket.IO clients of both instances, in order', async () => {
    expect(a.app.get(MessageBus).kind).toBe('redis');
    const clients = [await WsProbe.open(a.wsUrl), await IoProbe.open(a.url), await WsProbe.open(b.wsUrl), await IoProbe.open(b.url)];
    for (const c of clients) {
      await c.next('connection');
      c.send('subscribe_asset', { symbol: 'NVDA' });
      await c.next('subscribed');
      await c.next('asset_update');
    }
    const prices = ['900.10', '901.20', '902.30'];
    for (const p of prices) await publishTicks(a, [tick('NVDA', p, { previous_close: '880' })]);
    for (const c of clients) {
      const got = [];
      for (let i = 0; i < prices.length; i++) got.push(await c.next('asset_update'));
      expect(got.map((m) => m.data.price)).toEqual(prices.map(Number));
      for (let i = 1; i < got.length; i++) expect(got[i].data.seq).toBeGreaterThan(got[i - 1].data.seq);
    }
    for (const c of clients) await c.close();
  });
});
