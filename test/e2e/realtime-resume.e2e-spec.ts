import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { MessageBus } from '../../src/bus/message-bus';
import { PortfolioValuationSource } from '../../src/portfolios/valuation/valuation.types';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { startTestApp, TestApp } from '../support/app';
import { observeFor, poll } from '../support/poll';
import { addAssets, addPosition, commitPrices, createPortfolio, loginAs } from '../support/realtime-fixtures';
import { Envelope, openProbe, Probe } from '../support/realtime-probes';

const REDIS_URL = inject('redisUrl');
const HISTORY = 5;

/**
 * Resume after a reconnect (issue 14): each price's `seq` is assigned once, by the database
 * (assets.price_seq, advanced by the batch writer) and carried on the bus, so two API
 * instances send the same seq for the same update; a subscribe with `since_seq` / `since`
 * replays exactly what the client missed from the instance's bounded history, or says it
 * cannot (`recovered: false`) and sends the current snapshot. Prices go through the real
 * writer and the Redis bus, as the price feed sends them.
 */
describe('realtime resume after a reconnect (two instances, one database, Redis bus)', () => {
  let a: TestApp;
  let b: TestApp;
  const env = { REDIS_URL, REDIS_PREFIX: `rmtest:${randomBytes(6).toString('hex')}:`, REALTIME_HISTORY_SIZE: String(HISTORY) };
  const open: Probe[] = [];
  let n = 0;

  const connect = async (kind: 'websocket' | 'socketio', t: TestApp, cookie?: string) => {
    const p = await openProbe(kind, t, cookie ? { origin: t.url, cookie } : {});
    open.push(p);
    await p.next('connection');
    return p;
  };

  /** Stores a newer price through the batch writer and publishes what it committed on A's bus (the feed's path); returns its seq. */
  async function commit(symbol: string, price: string): Promise<number> {
    const committed = await commitPrices(a, [[symbol, price]]);
    expect(committed).toHaveLength(1);
    return committed[0].seq!;
  }

  async function freshSymbol(): Promise<string> {
    const s = `RSM${++n}`;
    await addAssets(a, [s]);
    await addAssets(b, [s]);
    return s;
  }

  /** A subscription (its reply, then the snapshot). */
  async function subscribe(p: Probe, symbol: string): Promise<Envelope> {
    p.send('subscribe_asset', { symbol });
    await p.next('subscribed');
    return p.next('asset_update', (m) => m.data.symbol === symbol);
  }

  /** Watchers on both instances: once both saw `seq`, both instances hold it. */
  async function watch(symbol: string): Promise<(seq: number) => Promise<void>> {
    const wa = await connect('websocket', a);
    const wb = await connect('websocket', b);
    await subscribe(wa, symbol);
    await subscribe(wb, symbol);
    return async (seq) => {
      for (const w of [wa, wb]) await w.next('asset_update', (m) => m.data.symbol === symbol && m.data.seq === seq);
    };
  }

  const updatesOf = (p: Probe, symbol: string) => p.inbox.received.filter((m) => m.type === 'asset_update' && m.data.symbol === symbol);

  beforeAll(async () => {
    a = await startTestApp(env);
    b = await startTestApp(env, { databaseUrl: a.databaseUrl });
    await Promise.all([a.app.get(MessageBus).ready(), b.app.get(MessageBus).ready()]);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('both instances send the same seq for the same committed price, one step per price', async () => {
    const s = await freshSymbol();
    const wa = await connect('websocket', a);
    const wb = await connect('socketio', b);
    await subscribe(wa, s);
    await subscribe(wb, s);
    const seqs = [await commit(s, '101'), await commit(s, '102'), await commit(s, '103')];
    expect(seqs).toEqual([seqs[0], seqs[0] + 1, seqs[0] + 2]);
    for (const p of [wa, wb]) {
      const got = [];
      for (let i = 0; i < 3; i++) got.push(await p.next('asset_update', (m) => m.data.symbol === s));
      expect(got.map((m) => [m.data.seq, m.data.price])).toEqual([
        [seqs[0], 101],
        [seqs[1], 102],
        [seqs[2], 103],
      ]);
    }
  });

  describe.each([
    ['websocket', 'the same instance'],
    ['socketio', 'the same instance'],
    ['websocket', 'the other instance'],
    ['socketio', 'the other instance'],
  ] as const)('over %s, reconnecting to %s', (kind, where) => {
    it('replays exactly the updates missed, in order, then live ones, with no duplicate', async () => {
      const s = await freshSymbol();
      const seen = await watch(s);
      const c = await connect(kind, a);
      await subscribe(c, s);
      await commit(s, '110');
      const last = await commit(s, '111');
      await c.next('asset_update', (m) => m.data.symbol === s && m.data.seq === last);
      await c.close(); // cut mid-stream at a known seq

      const missed = [await commit(s, '112'), await commit(s, '113'), await commit(s, '114')];
      await seen(missed[2]);

      const r = await connect(kind, where === 'the same instance' ? a : b);
      r.send('subscribe_asset', { symbol: s, since_seq: last }, 'resume');
      const reply = await r.next('subscribed', (m) => m.id === 'resume');
      expect(reply.data).toMatchObject({ assets: [s], recovered: { assets: { [s]: true }, portfolios: {} } });
      const live = await commit(s, '115');
      await r.next('asset_update', (m) => m.data.symbol === s && m.data.seq === live);
      await observeFor(200, 'nothing else arrives for the symbol');
      expect(updatesOf(r, s).map((m) => [m.data.seq, m.data.price])).toEqual([
        [missed[0], 112],
        [missed[1], 113],
        [missed[2], 114],
        [live, 115],
      ]);
      // The reply came before the first replayed update.
      const order = r.inbox.received.map((m) => m.type).filter((t) => t === 'subscribed' || t === 'asset_update');
      expect(order[0]).toBe('subscribed');
    });

    it('beyond the history: recovered false, the current snapshot, then live', async () => {
      const s = await freshSymbol();
      const seen = await watch(s);
      const c = await connect(kind, a);
      await subscribe(c, s);
      const last = await commit(s, '120');
      await c.next('asset_update', (m) => m.data.symbol === s && m.data.seq === last);
      await c.close();
      let newest = last;
      for (let i = 1; i <= HISTORY + 2; i++) newest = await commit(s, String(120 + i));
      await seen(newest);

      const r = await connect(kind, where === 'the same instance' ? a : b);
      r.send('subscribe_asset', { symbols: [s], since: { [s]: last } }, 'resume');
      expect((await r.next('subscribed', (m) => m.id === 'resume')).data.recovered).toEqual({ assets: { [s]: false }, portfolios: {} });
      const snap = await r.next('asset_update', (m) => m.data.symbol === s);
      expect([snap.data.seq, snap.data.price]).toEqual([newest, 120 + HISTORY + 2]);
      await observeFor(150, 'only the snapshot');
      expect(updatesOf(r, s)).toHaveLength(1);
    });
  });

  it('a seq the server never saw (ahead of it): recovered false and the snapshot; an up-to-date one: recovered true and nothing sent', async () => {
    const s = await freshSymbol();
    const seen = await watch(s);
    const now = await commit(s, '130');
    await seen(now);
    const r = await connect('websocket', b);
    r.send('subscribe_asset', { symbol: s, since_seq: now + 1000 }, 'ahead');
    expect((await r.next('subscribed', (m) => m.id === 'ahead')).data.recovered.assets).toEqual({ [s]: false });
    expect((await r.next('asset_update', (m) => m.data.symbol === s)).data.seq).toBe(now);

    const u = await connect('socketio', a);
    u.send('subscribe_asset', { symbol: s, since_seq: now }, 'current');
    expect((await u.next('subscribed', (m) => m.id === 'current')).data.recovered.assets).toEqual({ [s]: true });
    u.send('ping', {}, 'barrier');
    await u.next('pong', (m) => m.id === 'barrier');
    expect(updatesOf(u, s)).toHaveLength(0);
  });

  it('an instance started after the updates knows their seq from the database: an up-to-date client recovers, an older one gets the snapshot', async () => {
    const s = await freshSymbol();
    const seen = await watch(s);
    await commit(s, '140');
    const now = await commit(s, '141');
    await seen(now);
    const c = await startTestApp(env, { databaseUrl: a.databaseUrl });
    try {
      await c.app.get(MessageBus).ready();
      const up = await connect('websocket', c);
      up.send('subscribe_asset', { symbol: s, since_seq: now }, 'up');
      expect((await up.next('subscribed', (m) => m.id === 'up')).data.recovered.assets).toEqual({ [s]: true });
      const old = await connect('socketio', c);
      old.send('subscribe_asset', { symbol: s, since_seq: now - 1 }, 'old');
      expect((await old.next('subscribed', (m) => m.id === 'old')).data.recovered.assets).toEqual({ [s]: false });
      expect((await old.next('asset_update', (m) => m.data.symbol === s)).data).toMatchObject({ seq: now, price: 141 });
      // The next price has the next seq there too.
      const next = await commit(s, '142');
      expect(next).toBe(now + 1);
      for (const p of [up, old]) expect((await p.next('asset_update', (m) => m.data.symbol === s && m.data.price === 142)).data.seq).toBe(next);
      expect(updatesOf(up, s).map((m) => m.data.seq)).toEqual([next]);
    } finally {
      await Promise.all(open.splice(0).map((p) => p.close()));
      await c.close();
    }
  });

  it('a resubscribe with since_seq on a held symbol repairs a gap without adding anything', async () => {
    const s = await freshSymbol();
    const c = await connect('websocket', a);
    await subscribe(c, s);
    const first = await commit(s, '150');
    const second = await commit(s, '151');
    await c.next('asset_update', (m) => m.data.symbol === s && m.data.seq === second);
    c.inbox.drain('asset_update');
    c.send('subscribe_asset', { symbol: s, since_seq: first - 1 }, 'repair');
    const reply = await c.next('subscribed', (m) => m.id === 'repair');
    expect(reply.data).toMatchObject({ assets: [], recovered: { assets: { [s]: true } } });
    const replayed = [await c.next('asset_update', (m) => m.data.symbol === s), await c.next('asset_update', (m) => m.data.symbol === s)];
    expect(replayed.map((m) => m.data.seq)).toEqual([first, second]);
  });

  it('the pong lists the last seq sent per subscribed topic, after what a batched connection held back', async () => {
    const s = await freshSymbol();
    const c = await connect('websocket', a);
    c.send('set_options', { batch_ms: 1000 }, 'o');
    await c.next('options', (m) => m.id === 'o');
    c.send('subscribe_asset', { symbol: s });
    await c.next('subscribed');
    await c.next('asset_updates');
    const seq = await commit(s, '160');
    // The batch is not due for up to a second: the ping writes it first.
    await poll('the hub to hold the new price', () => a.app.get(RealtimeHub).index.peekAsset(s)?.seq === seq);
    c.send('ping', {}, 'hb');
    const pong = await c.next('pong', (m) => m.id === 'hb');
    expect(pong.data.last_seq).toEqual({ assets: { [s]: seq }, portfolios: {} });
    const batches = c.inbox.received.filter((m) => m.type === 'asset_updates');
    const pongAt = c.inbox.received.indexOf(pong);
    const delivered = c.inbox.received
      .slice(0, pongAt)
      .filter((m) => m.type === 'asset_updates')
      .flatMap((m) => m.data.updates);
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(delivered.at(-1)).toMatchObject({ symbol: s, seq });
  });

  it('counts resumes by outcome and the updates replayed (/metrics)', async () => {
    const metric = async (line: RegExp) => {
      const text = await (await fetch(`${a.url}/metrics`)).text();
      const m = text.split('\n').find((l) => line.test(l));
      return m ? Number(m.split(' ').at(-1)) : 0;
    };
    const before = {
      recovered: await metric(/^realtime_resumes_total\{outcome="recovered"\}/),
      snapshot: await metric(/^realtime_resumes_total\{outcome="snapshot"\}/),
      replayed: await metric(/^realtime_replayed_updates_total /),
    };
    const s = await freshSymbol();
    const c = await connect('websocket', a);
    await subscribe(c, s);
    const first = await commit(s, '170');
    const second = await commit(s, '171');
    await c.next('asset_update', (m) => m.data.symbol === s && m.data.seq === second);
    c.send('subscribe_asset', { symbol: s, since_seq: first - 1 }, 'm1');
    await c.next('subscribed', (m) => m.id === 'm1');
    c.send('subscribe_asset', { symbol: s, since_seq: second + 50 }, 'm2');
    await c.next('subscribed', (m) => m.id === 'm2');
    expect(await metric(/^realtime_resumes_total\{outcome="recovered"\}/)).toBe(before.recovered + 1);
    expect(await metric(/^realtime_resumes_total\{outcome="snapshot"\}/)).toBe(before.snapshot + 1);
    expect(await metric(/^realtime_replayed_updates_total /)).toBe(before.replayed + 2);
  });

  it('a portfolio resume sends one fresh portfolio_update flagged snapshot, also when already subscribed', async () => {
    const s = await freshSymbol();
    const user = await loginAs(a, 'resumer');
    const id = await createPortfolio(a, user.cookie, 'Resume');
    await addPosition(a, user.cookie, id, s, '2', '90');
    // Both instances value the new position before anyone subscribes (2 × 100): no live update comes after.
    for (const t of [a, b]) {
      await poll('the valuation to hold the position', async () => (await t.app.get(PortfolioValuationSource).snapshot(id))?.total_value === '200');
    }
    for (const [kind, t] of [
      ['websocket', a],
      ['socketio', b],
    ] as const) {
      const p = await connect(kind, t, user.cookie);
      p.send('subscribe_portfolio', { portfolio_id: id, since_seq: 12 }, 'r1');
      expect((await p.next('subscribed', (m) => m.id === 'r1')).data).toMatchObject({
        portfolios: [id],
        recovered: { assets: {}, portfolios: { [id]: false } },
      });
      const fresh = await p.next('portfolio_update');
      expect(fresh.data).toMatchObject({ portfolio_id: id, snapshot: true, total_value: 200 });
      p.send('subscribe_portfolio', { portfolio_id: id, since_seq: fresh.data.seq }, 'r2');
      expect((await p.next('subscribed', (m) => m.id === 'r2')).data).toMatchObject({ portfolios: [], recovered: { portfolios: { [id]: false } } });
      expect((await p.next('portfolio_update', (m) => m !== fresh)).data).toMatchObject({ portfolio_id: id, snapshot: true, total_value: 200 });
      // A plain subscribe is unchanged: no flag.
      const plain = await connect(kind, t, user.cookie);
      plain.send('subscribe_portfolio', { portfolio_id: id });
      await plain.next('subscribed');
      expect((await plain.next('portfolio_update')).data.snapshot).toBeUndefined();
    }
  });
});
