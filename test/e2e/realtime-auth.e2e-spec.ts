import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PortfolioValuationSource } from '../../src/portfolios/valuation/valuation.types';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { addPosition, api, createPortfolio, loginAs, logout, publishTicks, tick } from '../support/realtime-fixtures';
import { IoProbe, openProbe, Probe, ProbeOptions, WsProbe } from '../support/realtime-probes';
import { observeFor, poll } from '../support/poll';

const EVIL = 'http://evil.example';
const LISTED = 'http://app.example.com:3000';

/** The session id inside a signed `rm.sid=s%3A<sid>.<signature>` cookie. */
function sessionIdOf(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  return value.slice(2, value.lastIndexOf('.'));
}

describe('realtime: sessions, ownership and handshake rules', () => {
  let t: TestApp;
  const open: Probe[] = [];
  let alice: { cookie: string; userId: number };
  let bob: { cookie: string; userId: number };
  let alicePortfolio: number;
  let bobPortfolio: number;

  const connect = async (kind: 'websocket' | 'socketio', opts: ProbeOptions = {}) => {
    const p = await openProbe(kind, t, { origin: t.url, ...opts });
    open.push(p);
    await p.next('connection');
    return p;
  };

  beforeAll(async () => {
    t = await startTestApp({ HEARTBEAT_INTERVAL: '1', ALLOWED_ORIGINS: LISTED });
    alice = await loginAs(t, 'alice');
    bob = await loginAs(t, 'bob');
    alicePortfolio = await createPortfolio(t, alice.cookie, 'Growth Portfolio');
    bobPortfolio = await createPortfolio(t, bob.cookie, 'Bob Portfolio');
    await addPosition(t, alice.cookie, alicePortfolio, 'AAPL', '10', '150');
    // The engine applies the setup's portfolio.changed reloads on its own time: start from their result.
    const engine = t.app.get(PortfolioValuationSource);
    await poll('the valuation to hold the setup position', async () => (await engine.snapshot(alicePortfolio))?.positions_count === 1);
  });
  afterEach(async () => {
    // Every test starts with no connections (the per-user limit counts across tests otherwise).
    await Promise.all(open.splice(0).map((p) => p.close()));
    await poll('all connections released', () => t.app.get(RealtimeHub).stats().total_connections === 0);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe.each(['websocket', 'socketio'] as const)('over %s', (kind) => {
    it('the session cookie authenticates the handshake', async () => {
      const p = await openProbe(kind, t, { origin: t.url, cookie: alice.cookie });
      open.push(p);
      const c = await p.next('connection');
      expect(c.data).toMatchObject({ authenticated: true, user_id: alice.userId });
    });

    it('portfolio subscription: snapshot, then portfolio_update after a position edit (REST) and after a price tick', async () => {
      const p = await connect(kind, { cookie: alice.cookie });
      p.send('subscribe_portfolio', { portfolio_id: alicePortfolio }, 'pf');
      const sub = await p.next('subscribed');
      expect(sub).toMatchObject({ id: 'pf', data: { assets: [], portfolios: [alicePortfolio], subscriptions: { portfolios: [alicePortfolio] } } });
      const snap = await p.next('portfolio_update');
      expect(snap.data).toMatchObject({ portfolio_id: alicePortfolio, name: 'Growth Portfolio' });
      for (const f of ['total_value', 'daily_change', 'daily_change_percent', 'positions_count', 'seq'] as const) expect(typeof snap.data[f]).toBe('number');
      expect(typeof snap.data.stale).toBe('boolean');
      const countBefore = snap.data.positions_count;

      const symbol = kind === 'websocket' ? 'MSFT' : 'GOOGL';
      await addPosition(t, alice.cookie, alicePortfolio, symbol, '2', '100');
      const edited = await p.next('portfolio_update', (m) => m.data.positions_count === countBefore + 1, 10_000);
      expect(edited.data.seq).toBeGreaterThan(snap.data.seq);

      await publishTicks(t, [tick('AAPL', kind === 'websocket' ? '301.00' : '302.00', { previous_close: '290.00' })]);
      const priced = await p.next('portfolio_update', (m) => m.data.seq > edited.data.seq, 10_000);
      expect(priced.data.total_value).not.toBe(edited.data.total_value);
    });

    it("someone else's portfolio and a nonexistent one get the same NOT_FOUND, and no data", async () => {
      const p = await connect(kind, { cookie: bob.cookie });
      p.send('subscribe_portfolio', { portfolio_id: alicePortfolio }, 'theirs');
      const theirs = await p.next('error');
      p.send('subscribe_portfolio', { portfolio_id: 987654 }, 'missing');
      const missing = await p.next('error');
      expect(theirs.data).toMatchObject({ code: 'NOT_FOUND', request_type: 'subscribe_portfolio', id: 'theirs' });
      expect(missing.data).toMatchObject({ code: 'NOT_FOUND', request_type: 'subscribe_portfolio', id: 'missing' });
      expect(theirs.data.message.replace(String(alicePortfolio), 'N')).toBe(missing.data.message.replace('987654', 'N'));
      // A change to alice's portfolio reaches no one on bob's connection.
      await publishTicks(t, [tick('AAPL', '303.00', { previous_close: '290.00' })]);
      p.send('subscribe_portfolio', { portfolio_id: bobPortfolio });
      await p.next('subscribed');
      await p.next('portfolio_update');
      await observeFor(200, 'no other portfolio reaches this connection');
      expect(p.inbox.received.filter((m) => m.type === 'portfolio_update').map((m) => m.data.portfolio_id)).toEqual([bobPortfolio]);
    });

    it('logging out while connected removes portfolio subscriptions at once; assets keep flowing', async () => {
      const session = await loginAs(t, 'alice');
      const p = await connect(kind, { cookie: session.cookie });
      const other = await connect(kind, { cookie: alice.cookie });
      for (const c of [p, other]) {
        c.send('subscribe_portfolio', { portfolio_id: alicePortfolio });
        await c.next('subscribed');
        await c.next('portfolio_update');
      }
      p.send('subscribe_asset', { symbol: 'AAPL' });
      await p.next('subscribed');
      await p.next('asset_update');

      await logout(t, session.cookie);
      const gone = await p.next('unsubscribed');
      expect(gone.data).toEqual({ assets: [], portfolios: [alicePortfolio], subscriptions: { assets: ['AAPL'], portfolios: [] }, reason: 'session_ended' });
      p.send('subscribe_portfolio', { portfolio_id: alicePortfolio });
      expect((await p.next('error')).data.code).toBe('AUTH_REQUIRED');

      await publishTicks(t, [tick('AAPL', '304.00', { previous_close: '290.00' })]);
      expect((await p.next('asset_update', (m) => m.data.price === 304)).data.symbol).toBe('AAPL');
      // The other session of the same user is untouched.
      await other.next('portfolio_update', (m) => m.data.portfolio_id === alicePortfolio, 10_000);
      await observeFor(100, 'no portfolio_update reaches the logged-out connection');
      expect(p.inbox.drain('portfolio_update')).toEqual([]);
    });

    it('an expired session loses portfolio access at the next re-check', async () => {
      const session = await loginAs(t, 'alice');
      const p = await connect(kind, { cookie: session.cookie });
      p.send('subscribe_portfolio', { portfolio_id: alicePortfolio });
      await p.next('subscribed');
      // Expire it in the store, as the session store's pruning would.
      const deleted = await sql(t.databaseUrl, 'DELETE FROM session WHERE sid = $1 RETURNING sid', [sessionIdOf(session.cookie)]);
      expect(deleted).toHaveLength(1);
      const gone = await p.next('unsubscribed', undefined, 5000);
      expect(gone.data).toMatchObject({ portfolios: [alicePortfolio], reason: 'session_ended' });
      p.send('subscribe_portfolio', { portfolio_id: alicePortfolio });
      expect((await p.next('error')).data.code).toBe('AUTH_REQUIRED');
    });

    it('a session cookie without an Origin header is treated as anonymous', async () => {
      const p = await openProbe(kind, t, { cookie: alice.cookie });
      open.push(p);
      expect((await p.next('connection')).data).toMatchObject({ authenticated: false, user_id: null });
      p.send('subscribe_portfolio', { portfolio_id: alicePortfolio });
      expect((await p.next('error')).data.code).toBe('AUTH_REQUIRED');
    });

    it('an origin listed in ALLOWED_ORIGINS may use the session', async () => {
      const p = await openProbe(kind, t, { cookie: alice.cookie, origin: LISTED });
      open.push(p);
      expect((await p.next('connection')).data.authenticated).toBe(true);
    });

    it('a foreign Origin is refused with HTTP 403 (no upgrade), also for a different port of the same host', async () => {
      const port = new URL(t.url).port;
      for (const origin of [EVIL, `http://127.0.0.1:${Number(port) + 1}`, 'null', 'https://app.example.com:3000']) {
        if (kind === 'websocket') {
          await expect(WsProbe.open(t.wsUrl, { origin, cookie: alice.cookie }), origin).rejects.toMatchObject({ statusCode: 403 });
        } else {
          // websocket-only handshake (an upgrade) and the default long-polling handshake
          await expect(IoProbe.open(t.url, { origin, cookie: alice.cookie })).rejects.toBeInstanceOf(Error);
          const ws = await new Promise<number>((resolve) => {
            const req = new WsProbe.Socket(`${t.wsUrl}/socket.io/?EIO=4&transport=websocket`, { origin });
            req.on('unexpected-response', (_r, res) => resolve(res.statusCode ?? 0));
            req.on('open', () => resolve(101));
            req.on('error', () => resolve(-1));
          });
          expect(ws, origin).toBe(403);
          const poll = await fetch(`${t.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin } });
          expect(poll.status, origin).toBe(403);
        }
      }
    });

    it('MAX_CONNECTIONS_PER_USER (5): the 6th is refused with a clear reason; an abrupt death frees a slot', async () => {
      const carol = await loginAs(t, `carol-${kind}`);
      const five: Probe[] = [];
      for (let i = 0; i < 5; i++) five.push(await connect(kind, { cookie: carol.cookie }));
      expect(countUser(t, carol.userId)).toBe(5);
      if (kind === 'websocket') {
        // Documented: the handshake completes, then the server closes with 1008 and the reason.
        const sixth = await WsProbe.open(t.wsUrl, { origin: t.url, cookie: carol.cookie });
        open.push(sixth);
        const closed = await sixth.closed;
        expect(closed.code).toBe(1008);
        expect(closed.reason).toMatch(/^CONNECTION_LIMIT: at most 5 connections per user/);
        expect(sixth.inbox.received).toEqual([]);
      } else {
        const err = await IoProbe.open(t.url, { origin: t.url, cookie: carol.cookie }).catch((e: Error & { data?: any }) => e);
        expect(err).toBeInstanceOf(Error);
        expect((err as Error & { data?: any }).data).toMatchObject({ code: 'CONNECTION_LIMIT' });
      }
      // Anonymous connections are not counted against the user.
      const anon = await connect(kind);
      expect(anon.inbox.received.length).toBe(1);
      five[0].destroy();
      const hub = t.app.get(RealtimeHub);
      await poll('the dead slot is released', () => countUser(t, carol.userId) === 4);
      expect(hub.stats().total_connections).toBe(5);
      const again = await connect(kind, { cookie: carol.cookie });
      expect(again.inbox.received[0].data.authenticated).toBe(true);
    });
  });

  it('Socket.IO long-polling from our own page (no Origin on same-origin GETs) uses the session via Sec-Fetch-Site', async () => {
    const handshake = async (headers: Record<string, string>) => {
      const p = await IoProbe.open(t.url, { transports: ['polling'], cookie: alice.cookie, headers });
      open.push(p);
      return (await p.next('connection')).data;
    };
    expect(await handshake({ 'sec-fetch-site': 'same-origin' })).toMatchObject({ authenticated: true, user_id: alice.userId });
    expect(await handshake({ 'sec-fetch-site': 'cross-site' })).toMatchObject({ authenticated: false, user_id: null });
    expect(await handshake({})).toMatchObject({ authenticated: false });
  });

  it('GET /realtime/status/ reports user_stats for the logged-in caller', async () => {
    const dave = await loginAs(t, 'dave');
    const pf = await createPortfolio(t, dave.cookie, 'Dave');
    const a = await connect('websocket', { cookie: dave.cookie });
    const b = await connect('socketio', { cookie: dave.cookie });
    a.send('subscribe_asset', { symbols: ['AAPL', 'MSFT'] });
    await a.next('subscribed');
    b.send('subscribe_portfolio', { portfolio_id: pf });
    await b.next('subscribed');
    b.send('subscribe_asset', { symbol: 'GOOGL' });
    await b.next('subscribed');
    const r = await api(t, dave.cookie, 'GET', '/realtime/status/');
    expect(r.status).toBe(200);
    expect(r.body.user_stats).toEqual({ connection_count: 2, subscriptions: { portfolios: [pf], assets: ['AAPL', 'GOOGL', 'MSFT'] } });
    expect(r.body.global_stats.authenticated_users).toBeGreaterThanOrEqual(1);
    const anon = await fetch(`${t.url}/realtime/status`);
    expect(((await anon.json()) as any).user_stats).toBeUndefined();
  });
});

function countUser(t: TestApp, userId: number): number {
  // The registry's per-user count, as MAX_CONNECTIONS_PER_USER sees it.
  return (t.app.get(RealtimeHub) as unknown as { registry: { userConnectionCount(id: number): number } }).registry.userConnectionCount(userId);
}
