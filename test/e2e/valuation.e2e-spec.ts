import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PriceTick } from '../../src/bus/bus.messages';
import { MessageBus } from '../../src/bus/message-bus';
import { LiveValuationService } from '../../src/portfolios/valuation/live-valuation.service';
import { PortfolioValuation, PortfolioValuationSource } from '../../src/portfolios/valuation/valuation.types';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { poll } from '../support/poll';

type Agent = ReturnType<typeof request.agent>;

describe('live portfolio valuation (real bus, real database)', () => {
  let t: TestApp;
  let bus: MessageBus;
  let engine: PortfolioValuationSource;
  let alice: Agent;
  let bob: Agent;
  let p1: number;
  let p2: number;
  let demoId: number;
  const batches: PortfolioValuation[][] = [];

  /** Waits (bounded) for a notification that satisfies `pred`, after position `from` in the log. */
  const waitFor = (pred: (v: PortfolioValuation) => boolean, from: number): Promise<PortfolioValuation> =>
    poll('a matching valuation notification', () => batches.slice(from).flat().find(pred), 3_000, 10);

  /** Like the feed: commit prices to the assets table, then publish the batch. Returns the log position before it. */
  async function commitPrices(prices: { symbol: string; price: string; previous_close: string }[], asOf = new Date()): Promise<number> {
    for (const p of prices) {
      await sql(t.databaseUrl, `UPDATE assets SET current_price = $2, previous_close = $3, last_updated = $4 WHERE symbol = $1`, [
        p.symbol,
        p.price,
        p.previous_close,
        asOf,
      ]);
    }
    const ticks: PriceTick[] = prices.map((p) => ({ ...p, high: null, low: null, volume: null, as_of: asOf.toISOString(), source: 'test' }));
    const mark = batches.length;
    await bus.publish('prices.committed', { ticks, published_at: Date.now(), origin: 'test' });
    return mark;
  }

  async function restFigures(agent: Agent, id: number) {
    const res = await agent.get(`/api/portfolios/${id}`).expect(200);
    return {
      total_value: res.body.total_value,
      daily_change: res.body.daily_change,
      daily_change_percent: res.body.daily_change_percent,
      positions_count: res.body.positions_count,
    };
  }

  beforeAll(async () => {
    t = await startTestApp({ REALTIME_UPDATE_INTERVAL: '2' });
    bus = t.app.get(MessageBus);
    engine = t.app.get(PortfolioValuationSource);
    // The realtime hub narrows the engine's output to portfolios with subscribers; these tests check the
    // engine's own arithmetic for every touched portfolio (the narrowing has its own test below).
    engine.setInterest(null);
    engine.onChange((c) => batches.push(c));
    for (const name of ['alice', 'bob']) await request(t.url).post('/auth/register').send({ username: name, password: 'password-123' }).expect(201);
    alice = request.agent(t.url);
    await alice.post('/auth/login').send({ username: 'alice', password: 'password-123' }).expect(200);
    bob = request.agent(t.url);
    await bob.post('/auth/login').send({ username: 'bob', password: 'password-123' }).expect(200);
    p1 = (await alice.post('/api/portfolios').send({ name: 'P1' }).expect(201)).body.id;
    await alice.post(`/api/portfolios/${p1}/positions`).send({ symbol: 'AAPL', quantity: '3', average_cost: '1' }).expect(201);
    await alice.post(`/api/portfolios/${p1}/positions`).send({ symbol: 'MSFT', quantity: '0.1', average_cost: '1' }).expect(201);
    p2 = (await bob.post('/api/portfolios').send({ name: 'P2' }).expect(201)).body.id;
    // A quantity far beyond the engine's fast path (exercises the BigInt path).
    await bob.post(`/api/portfolios/${p2}/positions`).send({ symbol: 'MSFT', quantity: '1000000000000', average_cost: '1' }).expect(201);
    await bob.post(`/api/portfolios/${p2}/positions`).send({ symbol: 'BTC-USD', quantity: '0.5', average_cost: '1' }).expect(201);
    [{ id: demoId }] = await sql<{ id: number }>(t.databaseUrl, `SELECT id FROM portfolios WHERE name = 'Demo Portfolio'`);
    // Let the engine apply the portfolio.changed reloads.
    await poll('the engine to apply the setup reloads', async () => (await engine.snapshot(p2))?.positions_count === 2);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is the PortfolioValuationSource of the app', () => {
    expect(engine).toBeInstanceOf(LiveValuationService);
    expect(t.app.get(LiveValuationService)).toBe(engine);
  });

  it('revalues the holders of the changed symbols to hand-computed decimals', async () => {
    const mark = await commitPrices([
      { symbol: 'AAPL', price: '0.3', previous_close: '0.1' },
      { symbol: 'MSFT', price: '420.5', previous_close: '400' },
    ]);
    const v1 = await waitFor((v) => v.portfolio_id === p1, mark);
    // 3 x 0.3 + 0.1 x 420.5 = 0.9 + 42.05 ; previous 0.3 + 40 ; change 2.65 ; 2.65 / 40.3 = 6.57568...%
    expect(v1).toMatchObject({
      portfolio_id: p1,
      name: 'P1',
      total_value: '42.95',
      daily_change: '2.65',
      daily_change_percent: '6.5757',
      positions_count: 2,
      stale: false,
    });
    expect(typeof v1.owner_id).toBe('number');
    const v2 = await waitFor((v) => v.portfolio_id === p2, mark);
    // 10^12 x 420.5 + 0.5 x BTC (catalog price, unchanged)
    const [btc] = await sql<{ current_price: string }>(t.databaseUrl, `SELECT current_price::text FROM assets WHERE symbol = 'BTC-USD'`);
    expect(Number(btc.current_price)).toBe(63250);
    expect(v2.total_value).toBe('420500000031625');
    expect(v2.daily_change).toBe('20500000000000');
    expect(v2.stale).toBe(true); // BTC-USD was never priced by a feed (catalog reference price)
    // The same numbers as the REST API computes from the database.
    expect(await restFigures(alice, p1)).toMatchObject({
      total_value: v1.total_value,
      daily_change: v1.daily_change,
      daily_change_percent: v1.daily_change_percent,
    });
    expect(await restFigures(bob, p2)).toMatchObject({
      total_value: v2.total_value,
      daily_change: v2.daily_change,
      daily_change_percent: v2.daily_change_percent,
    });
  });

  it('notifies only the portfolios that hold a changed symbol', async () => {
    const mark = await commitPrices([{ symbol: 'ETH-USD', price: '2500.25', previous_close: '2400' }]);
    const demo = await waitFor((v) => v.portfolio_id === demoId, mark);
    expect(demo.name).toBe('Demo Portfolio');
    const ids = batches
      .slice(mark)
      .flat()
      .map((v) => v.portfolio_id);
    expect(ids).not.toContain(p1);
    expect(ids).not.toContain(p2);
  });

  it('with an interest filter (as the realtime hub sets it) notifies only watched portfolios, and keeps the others exact', async () => {
    engine.setInterest((id) => id === p2);
    try {
      const mark = await commitPrices([{ symbol: 'MSFT', price: '421', previous_close: '400' }]);
      const v2 = await waitFor((x) => x.portfolio_id === p2, mark);
      expect(v2.total_value).toBe('421000000031625');
      expect(
        batches
          .slice(mark)
          .flat()
          .map((x) => x.portfolio_id),
      ).not.toContain(p1);
      // Not notified, but still revalued: 3 x 0.3 + 0.1 x 421 = 43
      expect(await engine.snapshot(p1)).toMatchObject({ total_value: '43', daily_change: '2.7' });
      expect(await restFigures(alice, p1)).toMatchObject({ total_value: '43', daily_change: '2.7' });
    } finally {
      engine.setInterest(null);
    }
  });

  it('keeps exact running totals over many batches: always equal to a full recount from the database', async () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const price = (max: number) => (Math.floor(rnd() * max) + Math.floor(rnd() * 1e8) / 1e8).toFixed(8);
    for (let round = 0; round < 25; round++) {
      const prices = ['AAPL', 'MSFT', 'BTC-USD', 'ETH-USD', 'GOOGL']
        .filter(() => rnd() < 0.7)
        .map((symbol) => ({
          symbol,
          price: round === 10 && symbol === 'BTC-USD' ? '90000000.12345678' : price(round % 5 === 0 ? 5_000_000 : 1000),
          previous_close: price(1000),
        }));
      if (prices.length === 0) continue;
      const mark = await commitPrices(prices);
      if (prices.some((p) => p.symbol === 'AAPL' || p.symbol === 'MSFT')) await waitFor((v) => v.portfolio_id === p1 || v.portfolio_id === p2, mark);
      else await waitFor(() => true, mark);
    }
    for (const [agent, id] of [
      [alice, p1],
      [bob, p2],
    ] as const) {
      const snap = await engine.snapshot(id);
      expect(snap).toMatchObject(await restFigures(agent, id));
    }
    const demo = request.agent(t.url);
    await demo.post('/auth/login').send({ username: 'demo', password: 'demo-password' }).expect(200);
    expect(await engine.snapshot(demoId)).toMatchObject(await restFigures(demo, demoId));
  });

  it('still announces a change when a snapshot read starts while its reload is in flight', async () => {
    // A portfolio the engine has not read yet: its portfolio.changed reload (which notifies) and a
    // snapshot's reload (which does not) run at once; the later one must not swallow the announcement.
    const [{ id }] = await sql<{ id: number }>(
      t.databaseUrl,
      `INSERT INTO portfolios (owner_id, name) SELECT owner_id, 'Raced' FROM portfolios WHERE id = $1 RETURNING id`,
      [p1],
    );
    await sql(t.databaseUrl, `INSERT INTO positions (portfolio_id, asset_id, quantity, average_cost) SELECT $1, id, 4, 1 FROM assets WHERE symbol = 'AAPL'`, [
      id,
    ]);
    const before = batches.length;
    await bus.publish('portfolio.changed', { portfolio_id: id, owner_id: 0 });
    await new Promise((r) => setImmediate(r)); // the bus delivers on a later tick: the notifying reload has started
    const snap = await engine.snapshot(id);
    expect(snap?.positions_count).toBe(1);
    const announced = await waitFor((v) => v.portfolio_id === id, before);
    expect(announced.positions_count).toBe(1);
  });

  it('revalues and notifies after a position edit through the REST API', async () => {
    const mark = await commitPrices([
      { symbol: 'AAPL', price: '0.1', previous_close: '0.1' },
      { symbol: 'MSFT', price: '0.2', previous_close: '0.2' },
    ]);
    await waitFor((v) => v.portfolio_id === p1 && v.total_value === '0.32', mark); // 3 x 0.1 + 0.1 x 0.2 = 0.3 + 0.02
    const positions = (await alice.get(`/api/portfolios/${p1}`)).body.positions as { id: number; symbol: string }[];
    const aapl = positions.find((p) => p.symbol === 'AAPL')!;
    const before = batches.length;
    await alice.patch(`/api/portfolios/${p1}/positions/${aapl.id}`).send({ quantity: '1' }).expect(200);
    const v = await waitFor((x) => x.portfolio_id === p1, before);
    expect(v.total_value).toBe('0.12'); // 1 x 0.1 + 0.1 x 0.2: 0.1 + 0.02, not 0.12000000000000001
    expect(v.daily_change).toBe('0');
    const added = batches.length;
    await alice.post(`/api/portfolios/${p1}/positions`).send({ symbol: 'GOOGL', quantity: 2, average_cost: 100 }).expect(201);
    const v2 = await waitFor((x) => x.portfolio_id === p1 && x.positions_count === 3, added);
    const [googl] = await sql<{ p: string }>(t.databaseUrl, `SELECT current_price::text AS p FROM assets WHERE symbol = 'GOOGL'`);
    const googlValue = BigInt(googl.p.replace('.', '').replace(/^0+/, '') || '0') * 2n; // 2 x price, price has 8 decimals
    const expected = 12n * 10n ** 6n + googlValue; // 0.12 at scale 8 plus 2 x GOOGL
    const asText = (n: bigint) => (n / 10n ** 8n).toString() + ('.' + (n % 10n ** 8n).toString().padStart(8, '0')).replace(/\.?0+$/, '');
    expect(v2.total_value).toBe(asText(expected));
    expect(v2).toMatchObject(await restFigures(alice, p1));
  });

  it('counts an unpriced position as 0 and marks the valuation stale until a price arrives', async () => {
    await sql(t.databaseUrl, `INSERT INTO assets (symbol, name, asset_type, currency) VALUES ('NEWCO', 'New Co', 'STOCK', 'USD')`);
    const p3 = (await alice.post('/api/portfolios').send({ name: 'P3' }).expect(201)).body.id;
    await sql(t.databaseUrl, `UPDATE assets SET current_price = 10, previous_close = 10, last_updated = now() WHERE symbol = 'KO'`);
    const before = batches.length;
    await alice.post(`/api/portfolios/${p3}/positions`).send({ symbol: 'NEWCO', quantity: 5, average_cost: 1 }).expect(201);
    const unpriced = await waitFor((x) => x.portfolio_id === p3, before);
    expect(unpriced).toMatchObject({ total_value: '0', daily_change: '0', daily_change_percent: '0', stale: true, positions_count: 1 });
    const mark = await commitPrices([{ symbol: 'NEWCO', price: '2.5', previous_close: '2' }]);
    const priced = await waitFor((x) => x.portfolio_id === p3, mark);
    expect(priced).toMatchObject({ total_value: '12.5', daily_change: '2.5', daily_change_percent: '25', stale: false });
  });

  it('marks prices older than 3 intervals stale and never rolls a price back to an older quote', async () => {
    const mark = await commitPrices([{ symbol: 'NEWCO', price: '3', previous_close: '2' }]);
    const fresh = await waitFor((x) => x.total_value === '15', mark); // 5 x 3
    expect(fresh.stale).toBe(false);
    const p3 = fresh.portfolio_id;

    // A quote older than the one we have (interval 2 s, so also stale) must not roll the price back.
    const late = new Date(Date.now() - 10_000).toISOString();
    await bus.publish('prices.committed', {
      ticks: [{ symbol: 'NEWCO', price: '1', previous_close: '2', high: null, low: null, volume: null, as_of: late, source: 'late' }],
      published_at: Date.now(),
      origin: 'test',
    });
    // Bus delivery is ordered: once the next batch is seen, the late one was handled.
    const next = await commitPrices([{ symbol: 'GOOGL', price: '170', previous_close: '168' }]);
    await waitFor((x) => x.portfolio_id === demoId, next);
    expect((await engine.snapshot(p3))!.total_value).toBe('15');

    // A portfolio whose only price is an hour old is stale.
    const hourAgo = new Date(Date.now() - 3_600_000);
    await commitPrices([{ symbol: 'PEP', price: '169.5', previous_close: '170' }], hourAgo); // nobody holds PEP: no notification
    const after = await commitPrices([{ symbol: 'GOOGL', price: '171', previous_close: '168' }]);
    await waitFor((x) => x.portfolio_id === demoId, after);
    const p4 = (await alice.post('/api/portfolios').send({ name: 'P4' }).expect(201)).body.id;
    const b4 = batches.length;
    await alice.post(`/api/portfolios/${p4}/positions`).send({ symbol: 'PEP', quantity: 1, average_cost: 1 }).expect(201);
    const v4 = await waitFor((x) => x.portfolio_id === p4 && x.positions_count === 1, b4);
    expect(v4.stale).toBe(true);
    expect(v4.as_of).toBe(hourAgo.toISOString());
    expect(v4.total_value).toBe('169.5');
  });

  it('narrows notifications to watched portfolios when the hub asks (setInterest)', async () => {
    engine.setInterest((id) => id === p2);
    try {
      const mark = await commitPrices([{ symbol: 'MSFT', price: '500', previous_close: '400' }]);
      const v = await waitFor((x) => x.portfolio_id === p2, mark);
      expect(v.portfolio_id).toBe(p2);
      expect(
        batches
          .slice(mark)
          .flat()
          .map((x) => x.portfolio_id),
      ).toEqual([p2]);
    } finally {
      engine.setInterest(null);
    }
  });

  it('drops a deleted portfolio and does not notify it', async () => {
    await alice.delete(`/api/portfolios/${p1}`).expect(204);
    await poll('the deleted portfolio to leave the engine', async () => (await engine.snapshot(p1)) === null);
    expect(await engine.snapshot(p1)).toBeNull();
    const mark = await commitPrices([{ symbol: 'AAPL', price: '7', previous_close: '6' }]);
    await waitFor((x) => x.portfolio_id === demoId, mark);
    expect(
      batches
        .slice(mark)
        .flat()
        .map((x) => x.portfolio_id),
    ).not.toContain(p1);
  });

  it('loads every portfolio from the database at start-up', async () => {
    const second = await startTestApp({ REALTIME_UPDATE_INTERVAL: '2' }, { databaseUrl: t.databaseUrl });
    try {
      const other = second.app.get(PortfolioValuationSource);
      const snap = await other.snapshot(p2);
      expect(snap).toMatchObject({ portfolio_id: p2, name: 'P2', ...(await restFigures(bob, p2)) });
      expect(await other.snapshot(p1)).toBeNull();
      expect(await other.snapshot(123456789)).toBeNull();
      expect((second.app.get(LiveValuationService) as LiveValuationService).stats().portfolios).toBeGreaterThanOrEqual(4);
    } finally {
      await second.stop();
    }
  });
});
