import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarketClock } from '../../src/assets/market-clock';
import { marketState } from '../../src/assets/market-hours';
import { startTestApp, TestApp } from '../support/app';
import { publishTicks, tick } from '../support/realtime-fixtures';
import { Envelope, openProbe, Probe } from '../support/realtime-probes';

/**
 * `market_state` on asset_update (live and snapshot) and the `status` messages, on both
 * transports, with the server's market clock pinned (MarketClock.pin): the states are
 * those of src/assets/market-hours.ts at the pinned instants, whatever the time of the run.
 */
describe('realtime market state', () => {
  let t: TestApp;
  let clock: MarketClock;
  const open: Probe[] = [];
  const connect = async (kind: 'websocket' | 'socketio') => {
    const p = await openProbe(kind, t);
    open.push(p);
    await p.next('connection');
    return p;
  };
  /** A ping answered: every message the server sent before it has arrived. */
  const barrier = async (p: Probe, id: number) => {
    p.send('ping', {}, id);
    await p.next('pong', (m) => m.id === id);
  };

  // Tuesday 13 January 2026, 10:00 New York (EST): US equities and FX open.
  const TUESDAY_OPEN = '2026-01-13T15:00:00.000Z';
  // The same day, 16:30 New York: after-hours.
  const TUESDAY_POST = '2026-01-13T21:30:00.000Z';
  // Saturday 17 January 2026, noon New York: equities and FX closed (Monday 19 is a holiday).
  const SATURDAY = '2026-01-17T17:00:00.000Z';
  // Sunday 18 January, 17:00 New York: FX reopens.
  const SUNDAY_FX_OPEN = '2026-01-18T22:00:00.000Z';
  // Tuesday 20 January, 04:00 New York: equities pre-market after the long weekend.
  const TUESDAY_PRE = '2026-01-20T09:00:00.000Z';

  beforeAll(async () => {
    t = await startTestApp();
    clock = t.app.get(MarketClock);
    clock.pin(new Date(TUESDAY_OPEN));
  });
  afterAll(async () => {
    clock?.pin(null);
    await Promise.all(open.map((p) => p.close()));
    await t?.close();
  });

  describe.each(['websocket', 'socketio'] as const)('over %s', (kind) => {
    const SYMBOLS = ['AAPL', 'BTC-USD', 'EURUSD'];
    const types: Record<string, string> = { AAPL: 'STOCK', 'BTC-USD': 'CRYPTO', EURUSD: 'FOREX' };
    let n = kind === 'websocket' ? 1000 : 2000;
    const publishAll = (price: string) =>
      publishTicks(
        t,
        SYMBOLS.map((s) => tick(s, price)),
      );
    const updates = async (p: Probe, price: number): Promise<Record<string, Envelope>> => {
      const out: Record<string, Envelope> = {};
      for (const s of SYMBOLS) out[s] = await p.next('asset_update', (m) => m.data.symbol === s && m.data.price === price);
      return out;
    };
    const statesOf = (got: Record<string, Envelope>) => Object.fromEntries(SYMBOLS.map((s) => [s, got[s].data.market_state]));
    const expected = (iso: string) => Object.fromEntries(SYMBOLS.map((s) => [s, marketState(types[s], new Date(iso))]));

    it('asset_update, snapshots and status follow the market clock', async () => {
      clock.pin(new Date(TUESDAY_OPEN));
      const base = kind === 'websocket' ? 100 : 200;
      await publishAll(String(base)); // the hub now holds a tick of each: snapshots come from memory

      // Open market: snapshots and live updates say open; no status.
      const p = await connect(kind);
      p.send('subscribe_asset', { symbols: SYMBOLS }, ++n);
      await p.next('subscribed', (m) => m.id === n);
      const snaps = await updates(p, base);
      expect(statesOf(snaps)).toEqual({ AAPL: 'open', 'BTC-USD': 'open', EURUSD: 'open' });
      expect(statesOf(snaps)).toEqual(expected(TUESDAY_OPEN));
      await publishAll(String(base + 1));
      expect(statesOf(await updates(p, base + 1))).toEqual(expected(TUESDAY_OPEN));

      // After-hours: stocks say post, the others open; still no status (nothing closed).
      clock.pin(new Date(TUESDAY_POST));
      await publishAll(String(base + 2));
      expect(statesOf(await updates(p, base + 2))).toEqual({ AAPL: 'post', 'BTC-USD': 'open', EURUSD: 'open' });
      await barrier(p, ++n);
      expect(p.inbox.drain('status')).toEqual([]);

      // Saturday: one quiet status per closed market, listing this connection's symbols of it.
      clock.pin(new Date(SATURDAY));
      const eq = await p.next('status', (m) => m.data.market === 'us_equities');
      expect(eq.data).toEqual({
        symbols: ['AAPL'],
        state: 'quiet',
        reason: 'market_closed',
        market: 'us_equities',
        market_state: 'closed',
        next_change: TUESDAY_PRE, // Monday 19 January is Martin Luther King Jr. Day
        message: expect.stringContaining('closed'),
      });
      const fx = await p.next('status', (m) => m.data.market === 'fx');
      expect(fx.data).toMatchObject({ symbols: ['EURUSD'], state: 'quiet', reason: 'market_closed', market_state: 'closed', next_change: SUNDAY_FX_OPEN });
      await barrier(p, ++n);
      expect(p.inbox.drain('status')).toEqual([]); // nothing about crypto

      // A new subscriber while closed: the snapshot (its cached frame said post) is rebuilt as closed,
      // then a quiet status for the closed symbols only.
      const q = await connect(kind);
      q.send('subscribe_asset', { symbols: SYMBOLS }, ++n);
      await q.next('subscribed', (m) => m.id === n);
      const closedSnaps = await updates(q, base + 2);
      expect(statesOf(closedSnaps)).toEqual({ AAPL: 'closed', 'BTC-USD': 'open', EURUSD: 'closed' });
      expect(statesOf(closedSnaps)).toEqual(expected(SATURDAY));
      const qEq = await q.next('status', (m) => m.data.market === 'us_equities');
      expect(qEq.data).toMatchObject({ symbols: ['AAPL'], state: 'quiet', market_state: 'closed', next_change: TUESDAY_PRE });
      expect((await q.next('status', (m) => m.data.market === 'fx')).data.symbols).toEqual(['EURUSD']);
      // Received after the snapshots.
      const qTypes = q.inbox.received.map((m) => m.type);
      expect(qTypes.indexOf('status')).toBeGreaterThan(qTypes.lastIndexOf('asset_update'));

      // Live updates while closed still arrive, marked closed.
      await publishAll(String(base + 3));
      expect(statesOf(await updates(p, base + 3))).toEqual(expected(SATURDAY));

      // Sunday 17:00 New York: FX comes back (live); equities stay closed.
      clock.pin(new Date(SUNDAY_FX_OPEN));
      const fxBack = await p.next('status', (m) => m.data.market === 'fx');
      expect(fxBack.data).toMatchObject({ symbols: ['EURUSD'], state: 'live', reason: 'market_opened', market_state: 'open' });
      expect((await q.next('status', (m) => m.data.market === 'fx')).data).toEqual(fxBack.data);
      await barrier(p, ++n);
      await barrier(q, ++n);
      expect(p.inbox.drain('status')).toEqual([]);
      expect(q.inbox.drain('status')).toEqual([]);

      // Tuesday 04:00: equities reopen in pre-market.
      clock.pin(new Date(TUESDAY_PRE));
      const eqBack = await p.next('status', (m) => m.data.market === 'us_equities');
      expect(eqBack.data).toMatchObject({
        symbols: ['AAPL'],
        state: 'live',
        reason: 'market_opened',
        market_state: 'pre',
        next_change: '2026-01-20T14:30:00.000Z',
      });
      expect((await q.next('status', (m) => m.data.market === 'us_equities')).data).toEqual(eqBack.data);
      await publishAll(String(base + 4));
      expect(statesOf(await updates(p, base + 4))).toEqual({ AAPL: 'pre', 'BTC-USD': 'open', EURUSD: 'open' });

      // Unsubscribed symbols get no status.
      p.send('unsubscribe_asset', { symbols: ['AAPL'] }, ++n);
      await p.next('unsubscribed', (m) => m.id === n);
      q.send('unsubscribe_asset', { symbols: SYMBOLS }, ++n);
      await q.next('unsubscribed', (m) => m.id === n);
      clock.pin(new Date(SATURDAY));
      expect((await p.next('status')).data).toMatchObject({ symbols: ['EURUSD'], market: 'fx' });
      await barrier(p, ++n);
      await barrier(q, ++n);
      expect(p.inbox.drain('status')).toEqual([]);
      expect(q.inbox.drain('status')).toEqual([]);
      await Promise.all([p.close(), q.close()]);
    });
  });
});
