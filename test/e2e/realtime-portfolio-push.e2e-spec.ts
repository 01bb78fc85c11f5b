import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PortfolioValuationSource } from '../../src/portfolios/valuation/valuation.types';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { addAssets, addPosition, api, createPortfolio, loginAs, publishTicks, tick } from '../support/realtime-fixtures';
import { openProbe, Probe } from '../support/realtime-probes';
import { observeFor, poll } from '../support/poll';

/** The fields of a portfolio_update for a connection that set no option (exactly today's message). */
const PLAIN_FIELDS = ['as_of', 'daily_change', 'daily_change_percent', 'name', 'portfolio_id', 'positions_count', 'seq', 'stale', 'total_value'];

/**
 * set_options `portfolio_min_change_bps`, `portfolio_max_interval` and `portfolio_positions`:
 * what each connection is pushed of its portfolios, with controlled price sequences on the
 * real bus and valuation engine, over both transports.
 */
describe('realtime: portfolio push options (threshold, maximum interval, positions)', () => {
  let t: TestApp;
  let user: { cookie: string; userId: number };
  const open: Probe[] = [];
  let n = 0;

  const connect = async (kind: 'websocket' | 'socketio') => {
    const p = await openProbe(kind, t, { origin: t.url, cookie: user.cookie });
    open.push(p);
    await p.next('connection');
    return p;
  };

  /** A fresh portfolio: 10 × A and 5 × B, both priced 100 (previous close 100): total 1500. */
  async function holdings(kind: 'websocket' | 'socketio'): Promise<{ id: number; a: string; b: string }> {
    const tag = `PP${kind === 'websocket' ? 'W' : 'I'}${++n}`;
    const a = `${tag}A`;
    const b = `${tag}B`;
    await addAssets(t, [a, b], '100');
    const id = await createPortfolio(t, user.cookie, `Push ${tag}`);
    await addPosition(t, user.cookie, id, a, '10', '90');
    await addPosition(t, user.cookie, id, b, '5', '90');
    const engine = t.app.get(PortfolioValuationSource);
    await poll('the valuation to hold both positions', async () => (await engine.snapshot(id))?.positions_count === 2);
    return { id, a, b };
  }

  async function subscribe(p: Probe, id: number) {
    p.send('subscribe_portfolio', { portfolio_id: id });
    await p.next('subscribed');
    return p.next('portfolio_update');
  }

  async function setOptions(p: Probe, data: Record<string, unknown>) {
    p.send('set_options', data, 'opts');
    return (await p.next('options', (m) => m.id === 'opts')).data;
  }

  beforeAll(async () => {
    t = await startTestApp({});
    user = await loginAs(t, 'pushy');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await poll('all connections released', () => t.app.get(RealtimeHub).stats().total_connections === 0);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe.each(['websocket', 'socketio'] as const)('over %s', (kind) => {
    it('a threshold in basis points holds back smaller moves and pushes once the move since the last push crosses it; other connections get every change', async () => {
      const { id, a, b } = await holdings(kind);
      const plain = await connect(kind);
      const p = await connect(kind);
      expect(await setOptions(p, { portfolio_min_change_bps: 100 })).toEqual({
        batch_ms: 0,
        portfolio_min_change_bps: 100,
        portfolio_max_interval: 0,
        portfolio_positions: false,
      });
      const snap = await subscribe(p, id);
      expect(snap.data).toMatchObject({ portfolio_id: id, total_value: 1500 });
      expect(Object.keys(snap.data).sort()).toEqual(PLAIN_FIELDS);
      expect((await subscribe(plain, id)).data.total_value).toBe(1500);

      await publishTicks(t, [tick(a, '100.5')]); // 1505: 33 bps
      await publishTicks(t, [tick(a, '101')]); // 1510: 67 bps
      await publishTicks(t, [tick(a, '101.6')]); // 1516: 107 bps of 1500
      const crossed = await p.next('portfolio_update');
      expect(crossed.data).toMatchObject({ portfolio_id: id, total_value: 1516 }); // the first one after the snapshot
      expect(crossed.data.seq).toBeGreaterThan(snap.data.seq);
      for (const v of [1505, 1510, 1516]) expect((await plain.next('portfolio_update')).data.total_value).toBe(v);

      // Measured from the last value pushed (1516), not from the previous valuation: 4 + 4 + 8 down.
      await publishTicks(t, [tick(b, '99.2')]); // 1512: 26 bps of 1516
      await publishTicks(t, [tick(b, '98.4')]); // 1508: 53 bps
      await publishTicks(t, [tick(b, '96.8')]); // 1500: 106 bps
      expect((await p.next('portfolio_update')).data.total_value).toBe(1500);
      for (const v of [1512, 1508, 1500]) expect((await plain.next('portfolio_update')).data.total_value).toBe(v);
      const lastPlain = plain.inbox.received.filter((m) => m.type === 'portfolio_update').at(-1)!;
      expect(Object.keys(lastPlain.data).sort()).toEqual(PLAIN_FIELDS);

      // Without a maximum interval a sub-threshold move stays held back.
      await publishTicks(t, [tick(a, '101.7')]); // 1501
      await plain.next('portfolio_update', (m) => m.data.total_value === 1501);
      await observeFor(300, 'the held-back move is not pushed');
      expect(p.inbox.drain('portfolio_update')).toEqual([]);

      // Back to the defaults: the held-back change goes out at once, then every change.
      expect(await setOptions(p, { portfolio_min_change_bps: 0 })).toEqual({
        batch_ms: 0,
        portfolio_min_change_bps: 0,
        portfolio_max_interval: 0,
        portfolio_positions: false,
      });
      expect((await p.next('portfolio_update')).data.total_value).toBe(1501);
      await publishTicks(t, [tick(a, '101.8')]); // 1502
      expect((await p.next('portfolio_update')).data.total_value).toBe(1502);
      expect(await setOptions(p, { batch_ms: 0 })).toEqual({ batch_ms: 0 });
    });

    it('a maximum interval pushes a held-back move once the interval since the last push has passed, not before', async () => {
      const { id, a } = await holdings(kind);
      const p = await connect(kind);
      expect(await setOptions(p, { portfolio_min_change_bps: 1000, portfolio_max_interval: 1 })).toMatchObject({
        portfolio_min_change_bps: 1000,
        portfolio_max_interval: 1,
      });
      const subscribedAt = Date.now(); // the snapshot push is no earlier than this
      await subscribe(p, id);
      await publishTicks(t, [tick(a, '100.5')]); // 1505: 33 bps, under 1000
      const late = await p.next('portfolio_update', undefined, 5_000);
      expect(Date.now() - subscribedAt).toBeGreaterThanOrEqual(1_000);
      expect(late.data.total_value).toBe(1505);

      // The next move waits a full interval after this push again.
      await publishTicks(t, [tick(a, '101')]); // 1510
      await observeFor(500, 'within the interval nothing is pushed');
      expect(p.inbox.drain('portfolio_update')).toEqual([]);
      expect((await p.next('portfolio_update', undefined, 5_000)).data.total_value).toBe(1510);

      // Nothing changed since: nothing is pushed, however long.
      await observeFor(1_300, 'no change, no push');
      expect(p.inbox.drain('portfolio_update')).toEqual([]);
    });

    it('positions: the first push lists every position, later ones only the changed ones, as decimal strings equal to the REST figures', async () => {
      const { id, a, b } = await holdings(kind);
      const p = await connect(kind);
      expect(await setOptions(p, { portfolio_positions: true })).toEqual({
        batch_ms: 0,
        portfolio_min_change_bps: 0,
        portfolio_max_interval: 0,
        portfolio_positions: true,
      });
      const snap = await subscribe(p, id);
      expect(snap.data).toMatchObject({ total_value: 1500, positions_complete: true });
      const at = (price: string) => ({ current_price: price, previous_close: '100', as_of: expect.any(String) });
      expect(snap.data.positions).toEqual([
        { symbol: a, quantity: '10', market_value: '1000', daily_change: '0', daily_change_percent: '0', ...at('100') },
        { symbol: b, quantity: '5', market_value: '500', daily_change: '0', daily_change_percent: '0', ...at('100') },
      ]);

      await publishTicks(t, [tick(a, '101.25')]);
      const moved = await p.next('portfolio_update');
      expect(moved.data).toMatchObject({ total_value: 1512.5, daily_change: 12.5, positions_complete: false });
      expect(moved.data.positions).toEqual([
        { symbol: a, quantity: '10', market_value: '1012.5', daily_change: '12.5', daily_change_percent: '1.25', ...at('101.25') },
      ]);
      // The REST API values from the database: commit the same price there, as the feed does.
      await sql(t.databaseUrl, `UPDATE assets SET current_price = '101.25', previous_close = '100' WHERE symbol = $1`, [a]);
      const rest = await api<{ positions: Record<string, unknown>[] }>(t, user.cookie, 'GET', `/api/portfolios/${id}`);
      const restA = rest.body.positions.find((x) => x.symbol === a)!;
      expect(moved.data.positions[0]).toMatchObject({
        quantity: restA.quantity,
        market_value: restA.market_value,
        daily_change: restA.daily_change,
        daily_change_percent: restA.daily_change_percent,
      });

      await publishTicks(t, [tick(b, '99.99', { previous_close: '100' }), tick(a, '101.25')]); // only B moves
      const onlyB = await p.next('portfolio_update');
      expect(onlyB.data.positions).toEqual([
        { symbol: b, quantity: '5', market_value: '499.95', daily_change: '-0.05', daily_change_percent: '-0.01', ...at('99.99') },
      ]);

      // A position added: the set changed, so the push lists every position again.
      const c = `${a.slice(0, -1)}C`;
      await addAssets(t, [c], '2');
      await addPosition(t, user.cookie, id, c, '0.5', '2');
      const added = await p.next('portfolio_update', undefined, 10_000);
      expect(added.data).toMatchObject({ positions_count: 3, positions_complete: true });
      expect(added.data.positions.map((x: { symbol: string }) => x.symbol)).toEqual([a, b, c]);
      expect(added.data.positions[2]).toMatchObject({ quantity: '0.5', market_value: '1', current_price: '2' });

      // Re-subscribing starts over: every position again.
      p.send('unsubscribe_portfolio', { portfolio_id: id });
      await p.next('unsubscribed');
      const again = await subscribe(p, id);
      expect(again.data.positions_complete).toBe(true);
      expect(again.data.positions).toHaveLength(3);
    });

    it('refuses invalid options with VALIDATION_FAILED and keeps the ones in effect', async () => {
      const p = await connect(kind);
      await setOptions(p, { portfolio_min_change_bps: 50 });
      for (const [field, value] of [
        ['portfolio_min_change_bps', 10_001],
        ['portfolio_min_change_bps', -1],
        ['portfolio_min_change_bps', 2.5],
        ['portfolio_min_change_bps', '50'],
        ['portfolio_max_interval', 3601],
        ['portfolio_max_interval', -1],
        ['portfolio_positions', 'yes'],
      ] as const) {
        p.send('set_options', { [field]: value }, 'bad');
        const err = await p.next('error', (m) => m.id === 'bad');
        expect(err.data).toMatchObject({ code: 'VALIDATION_FAILED', request_type: 'set_options' });
        expect(err.data.details.join(' ')).toContain(field);
      }
      expect(await setOptions(p, { portfolio_positions: false })).toEqual({
        batch_ms: 0,
        portfolio_min_change_bps: 50,
        portfolio_max_interval: 0,
        portfolio_positions: false,
      });
    });
  });
});
