import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RealtimeClient, RealtimeError, type StateChange } from '../../../client/realtime-client';
import { applyPositions } from '../../../client/portfolio-positions';
import type { Transport, TransportEvents, TransportFactory } from '../../../client/transport';

/**
 * The client's own logic (reconnect, backoff, resubscribe, request matching)
 * driven through an in-memory transport under fake timers. The real transports
 * against the real server are covered by test/e2e/client.e2e-spec.ts.
 */
interface SentEnvelope {
  type: string;
  data: Record<string, unknown>;
  id?: string;
}

class FakeConnection implements Transport {
  readonly kind = 'websocket' as const;
  readonly sent: SentEnvelope[] = [];
  closedByClient = false;
  /** Answers each sent message (on a microtask, like a real server would later). */
  autoReply?: (req: SentEnvelope, conn: FakeConnection) => void;
  private ended = false;
  constructor(private readonly events: TransportEvents) {}

  send(envelope: { type: string } & Record<string, unknown>): string {
    if (this.ended) throw new Error('Not connected');
    const req = envelope as unknown as SentEnvelope;
    this.sent.push(req);
    if (this.autoReply) queueMicrotask(() => this.autoReply?.(req, this));
    return JSON.stringify(envelope);
  }
  sendRaw(text: string): void {
    this.sent.push(JSON.parse(text) as SentEnvelope);
  }
  close(): void {
    this.closedByClient = true;
    this.ended = true;
  }

  /** The server accepts: transport open, then the `connection` message. */
  accept(userId: number | null = null): void {
    this.events.open();
    this.push('connection', { status: 'connected', connection_id: `conn-${Math.random()}`, authenticated: userId !== null, user_id: userId });
  }
  push(type: string, data: unknown, id?: string): void {
    const env: Record<string, unknown> = { type, data, timestamp: new Date().toISOString() };
    if (id !== undefined) env.id = id;
    this.events.message(env, JSON.stringify(env));
  }
  reply(req: SentEnvelope, type: string, data: Record<string, unknown> = {}): void {
    this.push(type, type === 'error' ? { ...data, id: req.id, request_type: req.type } : data, type === 'error' ? undefined : req.id);
  }
  drop(reason = 'connection lost'): void {
    this.ended = true;
    this.events.close({ code: 1006, reason });
  }
  last(type: string): SentEnvelope {
    const found = [...this.sent].reverse().find((e) => e.type === type);
    if (!found) throw new Error(`no ${type} sent; sent: ${this.sent.map((e) => e.type).join(', ')}`);
    return found;
  }
}

class FakeServer {
  readonly connections: FakeConnection[] = [];
  readonly factory: TransportFactory = (events) => {
    const c = new FakeConnection(events);
    this.connections.push(c);
    return c;
  };
  get latest(): FakeConnection {
    const c = this.connections.at(-1);
    if (!c) throw new Error('no connection attempt yet');
    return c;
  }
}

const BACKOFF = { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2, jitter: 0.5 };

describe('RealtimeClient reconnect and resubscribe', () => {
  let server: FakeServer;
  let states: StateChange[];
  let client: RealtimeClient;
  let random: () => number;

  const make = (extra: ConstructorParameters<typeof RealtimeClient>[0] = {}) => {
    client = new RealtimeClient({
      transportFactory: server.factory,
      reconnect: BACKOFF,
      random: () => random(),
      connectTimeoutMs: 5_000,
      requestTimeoutMs: 2_000,
      ...extra,
    });
    client.onState((s) => states.push(s));
    return client;
  };

  beforeEach(() => {
    vi.useFakeTimers();
    server = new FakeServer();
    states = [];
    random = () => 0;
  });
  afterEach(() => {
    client?.dispose();
    vi.useRealTimers();
  });

  it('goes connecting -> connected on the server connection message', () => {
    make().connect();
    expect(client.state).toBe('connecting');
    server.latest.accept(7);
    expect(client.state).toBe('connected');
    expect(client.connection).toMatchObject({ authenticated: true, user_id: 7 });
    expect(states.map((s) => s.state)).toEqual(['connecting', 'connected']);
  });

  it('retries with exponential backoff, capped, and counts attempts', async () => {
    make().connect();
    server.latest.drop();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const s = states.at(-1)!;
      expect(s.state).toBe('reconnecting');
      delays.push(s.retryInMs!);
      const before = server.connections.length;
      await vi.advanceTimersByTimeAsync(s.retryInMs! - 1);
      expect(server.connections.length).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(server.connections.length).toBe(before + 1);
      server.latest.drop();
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(states.filter((s) => s.state === 'reconnecting' && s.retryInMs !== undefined).map((s) => s.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('applies jitter from the random source', async () => {
    random = () => 0.5;
    make().connect();
    server.latest.drop();
    expect(states.at(-1)!.retryInMs).toBe(75);
    await vi.advanceTimersByTimeAsync(75);
    server.latest.drop();
    expect(states.at(-1)!.retryInMs).toBe(150);
  });

  it('resets the backoff once a connection succeeds', async () => {
    make().connect();
    server.latest.drop();
    await vi.advanceTimersByTimeAsync(100);
    server.latest.drop();
    await vi.advanceTimersByTimeAsync(200);
    server.latest.accept();
    expect(client.state).toBe('connected');
    server.latest.drop();
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', retryInMs: 100, attempt: 1 });
  });

  it('subscribes everything it remembers again after a reconnect, minus what was unsubscribed', async () => {
    make().connect();
    server.latest.accept(1);
    const first = server.latest;
    const sub = client.subscribeAssets(['aapl', ' msft ', 'BTC-USD']);
    const req = first.last('subscribe_asset');
    expect(req.data).toEqual({ symbols: ['AAPL', 'MSFT', 'BTC-USD'] });
    expect(req.id).toEqual(expect.any(String));
    first.reply(req, 'subscribed', { assets: ['AAPL', 'MSFT', 'BTC-USD'] });
    await expect(sub).resolves.toMatchObject({ type: 'subscribed', id: req.id });

    const p = client.subscribePortfolio(42);
    first.reply(first.last('subscribe_portfolio'), 'subscribed', { portfolios: [42] });
    await p;
    const u = client.unsubscribeAssets('MSFT');
    first.reply(first.last('unsubscribe_asset'), 'unsubscribed', {});
    await u;

    first.drop();
    await vi.advanceTimersByTimeAsync(100);
    const second = server.latest;
    expect(second).not.toBe(first);
    expect(second.sent).toEqual([]); // nothing is sent before the server's connection message
    second.accept(1);
    expect(second.sent.map((e) => [e.type, e.data])).toEqual([
      ['subscribe_asset', { symbols: ['AAPL', 'BTC-USD'] }],
      ['subscribe_portfolio', { portfolio_id: 42 }],
    ]);
    expect(client.subscriptions).toEqual({ assets: ['AAPL', 'BTC-USD'], portfolios: [42] });
  });

  it('sends subscriptions made while disconnected once connected', async () => {
    make().connect();
    await expect(client.subscribeAssets('EURUSD')).resolves.toBeNull();
    server.latest.accept();
    expect(server.latest.last('subscribe_asset').data).toEqual({ symbol: 'EURUSD' });
  });

  it('remembers setOptions() (merged) and sends them again before the subscriptions after a reconnect', async () => {
    make().connect();
    await expect(client.setOptions({ portfolio_positions: true })).resolves.toBeNull(); // not connected yet: sent on connect
    server.latest.accept(1);
    const first = server.latest;
    expect(first.sent.map((e) => [e.type, e.data])).toEqual([['set_options', { portfolio_positions: true }]]);
    first.reply(first.last('set_options'), 'options', { batch_ms: 0, portfolio_min_change_bps: 0, portfolio_max_interval: 0, portfolio_positions: true });
    const set = client.setOptions({ portfolio_min_change_bps: 25, portfolio_max_interval: 30 });
    const req = first.last('set_options');
    expect(req.data).toEqual({ portfolio_min_change_bps: 25, portfolio_max_interval: 30 });
    first.reply(req, 'options', { batch_ms: 0, portfolio_min_change_bps: 25, portfolio_max_interval: 30, portfolio_positions: true });
    await expect(set).resolves.toEqual({ batch_ms: 0, portfolio_min_change_bps: 25, portfolio_max_interval: 30, portfolio_positions: true });
    // A refused value is not remembered.
    const bad = client.setOptions({ portfolio_min_change_bps: 20_000 });
    first.reply(first.last('set_options'), 'error', { code: 'VALIDATION_FAILED', message: 'bad' });
    await expect(bad).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const sub = client.subscribePortfolio(42);
    first.reply(first.last('subscribe_portfolio'), 'subscribed', { portfolios: [42] });
    await sub;

    first.drop();
    await vi.advanceTimersByTimeAsync(100);
    server.latest.accept(1);
    expect(server.latest.sent.map((e) => [e.type, e.data])).toEqual([
      ['set_options', { portfolio_positions: true, portfolio_min_change_bps: 25, portfolio_max_interval: 30 }],
      ['subscribe_portfolio', { portfolio_id: 42 }],
    ]);
    expect(client.deliveryOptions).toEqual({ portfolio_positions: true, portfolio_min_change_bps: 25, portfolio_max_interval: 30 });
  });

  it('applyPositions keeps a holdings table: a complete push replaces it, a partial one updates its rows', () => {
    const pos = (symbol: string, market_value: string) => ({
      symbol,
      quantity: '1',
      current_price: market_value,
      previous_close: market_value,
      market_value,
      daily_change: '0',
      daily_change_percent: '0',
      as_of: null,
    });
    const base = { portfolio_id: 1, name: 'P', total_value: 0, daily_change: 0, daily_change_percent: 0, positions_count: 2, as_of: '', stale: false, seq: 1 };
    const table = new Map();
    applyPositions(table, { ...base, positions: [pos('A', '1'), pos('B', '2')], positions_complete: true });
    applyPositions(table, { ...base, positions: [pos('B', '3')], positions_complete: false });
    expect([...table.values()].map((p) => [p.symbol, p.market_value])).toEqual([
      ['A', '1'],
      ['B', '3'],
    ]);
    applyPositions(table, { ...base, positions: [pos('C', '4')], positions_complete: true });
    expect([...table.keys()]).toEqual(['C']);
    applyPositions(table, base);
    expect([...table.keys()]).toEqual(['C']);
  });

  it('forgets a portfolio the server no longer grants after reconnect', async () => {
    make().connect();
    server.latest.accept(1);
    const p = client.subscribePortfolio(9);
    server.latest.reply(server.latest.last('subscribe_portfolio'), 'subscribed', {});
    await p;
    server.latest.drop();
    await vi.advanceTimersByTimeAsync(100);
    server.latest.accept(null);
    server.latest.reply(server.latest.last('subscribe_portfolio'), 'error', { code: 'AUTH_REQUIRED', message: 'log in first' });
    await vi.advanceTimersByTimeAsync(0);
    expect(client.subscriptions.portfolios).toEqual([]);
  });

  /** Like the real server: a batch with any unknown symbol is refused whole, without naming it. */
  const catalogServer = (known: string[]) => (req: SentEnvelope, conn: FakeConnection) => {
    if (req.type !== 'subscribe_asset') return;
    const list = (req.data.symbols as string[] | undefined) ?? [req.data.symbol as string];
    const unknown = list.filter((x) => !known.includes(x));
    if (unknown.length > 0) conn.reply(req, 'error', { code: 'UNKNOWN_SYMBOL', message: `Unknown symbols: ${unknown.join(', ')}` });
    else conn.reply(req, 'subscribed', { assets: list });
  };

  it('finds the unknown symbols of a refused batch by halving it, forgets them and keeps the rest subscribed', async () => {
    make().connect();
    server.latest.accept();
    server.latest.autoReply = catalogServer(['AAPL', 'MSFT', 'SPY', 'BTC-USD', 'ETH-USD']);
    const sub = client.subscribeAssets(['AAPL', 'NOPE', 'MSFT', 'SPY', 'ZZZ', 'BTC-USD', 'ETH-USD']);
    await expect(sub).rejects.toMatchObject({ code: 'UNKNOWN_SYMBOL', data: { symbols: ['NOPE', 'ZZZ'] } });
    expect(client.subscriptions.assets).toEqual(['AAPL', 'MSFT', 'SPY', 'BTC-USD', 'ETH-USD']);
    const accepted = server.latest.sent
      .filter((e) => e.type === 'subscribe_asset')
      .map((e) => (e.data.symbols as string[] | undefined) ?? [e.data.symbol as string]);
    // Every known symbol went out in a message the server accepted.
    for (const sym of ['AAPL', 'MSFT', 'SPY', 'BTC-USD', 'ETH-USD']) {
      expect(accepted.some((l) => l.includes(sym) && l.every((x) => !['NOPE', 'ZZZ'].includes(x)))).toBe(true);
    }
  });

  it('needs only a few messages to find one unknown symbol among many (stays under the rate limit)', async () => {
    make().connect();
    server.latest.accept();
    const known = Array.from({ length: 40 }, (_, i) => `S${i}`);
    server.latest.autoReply = catalogServer(known);
    await expect(client.subscribeAssets([...known.slice(0, 17), 'GONE', ...known.slice(17)])).rejects.toMatchObject({ data: { symbols: ['GONE'] } });
    expect(client.subscriptions.assets).toEqual(known);
    // 1 + 2 per halving level (log2 41 < 6): at most 13 messages, against 41 one by one.
    expect(server.latest.sent.length).toBeLessThanOrEqual(13);
  });

  it('uses the symbols named by the server when it names them', async () => {
    make().connect();
    server.latest.accept();
    server.latest.autoReply = (req, conn) => {
      const list = (req.data.symbols as string[] | undefined) ?? [req.data.symbol as string];
      if (list.includes('NOPE')) conn.reply(req, 'error', { code: 'UNKNOWN_SYMBOL', message: 'unknown', symbols: ['NOPE'] });
      else conn.reply(req, 'subscribed', {});
    };
    await expect(client.subscribeAssets(['AAPL', 'NOPE', 'MSFT'])).rejects.toMatchObject({ code: 'UNKNOWN_SYMBOL', data: { symbols: ['NOPE'] } });
    expect(server.latest.sent.map((e) => e.data)).toEqual([{ symbols: ['AAPL', 'NOPE', 'MSFT'] }, { symbols: ['AAPL', 'MSFT'] }]);
    expect(client.subscriptions.assets).toEqual(['AAPL', 'MSFT']);
  });

  it('drops a symbol that became unknown when resubscribing after a reconnect', async () => {
    make().connect();
    server.latest.accept();
    server.latest.autoReply = catalogServer(['AAPL', 'OLD']);
    await client.subscribeAssets(['AAPL', 'OLD']);
    server.latest.drop();
    await vi.advanceTimersByTimeAsync(100);
    server.latest.autoReply = catalogServer(['AAPL']);
    server.latest.accept();
    await vi.advanceTimersByTimeAsync(0);
    expect(client.subscriptions.assets).toEqual(['AAPL']);
  });

  it('refuses malformed symbols before sending anything', async () => {
    make().connect();
    server.latest.accept();
    await expect(client.subscribeAssets('bad symbol!')).rejects.toBeInstanceOf(RealtimeError);
    expect(server.latest.sent).toEqual([]);
  });

  it('fails pending requests with DISCONNECTED when the connection drops', async () => {
    make().connect();
    server.latest.accept();
    const ping = client.ping();
    server.latest.drop();
    await expect(ping).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('fails a request with TIMEOUT when no reply comes', async () => {
    make().connect();
    server.latest.accept();
    const ping = client.ping(500);
    const assertion = expect(ping).rejects.toMatchObject({ code: 'TIMEOUT' });
    await vi.advanceTimersByTimeAsync(500);
    await assertion;
  });

  it('matches replies by id, including error replies that carry the id in data', async () => {
    make().connect();
    server.latest.accept();
    const a = client.ping();
    const b = client.ping();
    const [ra, rb] = server.latest.sent;
    server.latest.reply(rb!, 'pong', { n: 'b' });
    server.latest.reply(ra!, 'error', { code: 'RATE_LIMITED', message: 'slow down' });
    await expect(b).resolves.toMatchObject({ pong: { type: 'pong', data: { n: 'b' } } });
    await expect(a).rejects.toMatchObject({ code: 'RATE_LIMITED', message: 'slow down' });
  });

  it('rejects requests while not connected', async () => {
    make();
    await expect(client.ping()).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
  });

  it('stops reconnecting after disconnect()', async () => {
    make().connect();
    server.latest.accept();
    server.latest.drop();
    client.disconnect();
    expect(client.state).toBe('offline');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.connections.length).toBe(1);
  });

  it('goes offline after maxAttempts failures in a row', async () => {
    make({ reconnect: { ...BACKOFF, maxAttempts: 3 } }).connect();
    server.latest.drop();
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      server.latest.drop();
    }
    expect(client.state).toBe('offline');
    expect(states.at(-1)!.reason).toMatch(/gave up after 3 attempts/);
    const count = server.connections.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.connections.length).toBe(count);
  });

  it('does not reconnect at all with reconnect: false', async () => {
    make({ reconnect: false }).connect();
    server.latest.accept();
    server.latest.drop('bye');
    expect(client.state).toBe('offline');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.connections.length).toBe(1);
  });

  it('abandons an attempt that never reaches connected and retries', async () => {
    make().connect();
    const stuck = server.latest;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stuck.closedByClient).toBe(true);
    expect(client.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(100);
    expect(server.connections.length).toBe(2);
  });

  it('reconnectNow() replaces the connection at once and ignores the old one', async () => {
    make().connect();
    server.latest.accept();
    const pending = client.subscribeAssets('AAPL');
    const old = server.latest;
    client.reconnectNow('logged in');
    expect(old.closedByClient).toBe(true);
    expect(server.connections.length).toBe(2);
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
    old.drop(); // a late close from the old transport changes nothing
    expect(client.state).toBe('reconnecting');
    server.latest.accept(3);
    expect(client.state).toBe('connected');
    expect(server.latest.last('subscribe_asset').data).toEqual({ symbol: 'AAPL' });
  });

  it('forces a reconnect when keep-alive pings go unanswered', async () => {
    make({ keepAliveMs: 1_000, requestTimeoutMs: 300 }).connect();
    server.latest.accept();
    const first = server.latest;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(first.last('ping')).toBeDefined();
    await vi.advanceTimersByTimeAsync(300);
    expect(first.closedByClient).toBe(true);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', reason: 'keep-alive timeout' });
  });

  it('delivers typed messages to on() and every frame to onFrame()', () => {
    make().connect();
    const prices: number[] = [];
    const frames: string[] = [];
    client.on('asset_update', (d) => prices.push(d.price));
    client.onFrame((f) => frames.push(`${f.direction}:${f.type}`));
    server.latest.accept();
    server.latest.push('asset_update', { symbol: 'AAPL', price: 101.5 });
    client.send('ping', {});
    expect(prices).toEqual([101.5]);
    expect(frames).toEqual(['in:connection', 'in:asset_update', 'out:ping']);
  });

  it('hands each update of a batched asset_updates frame to asset_update handlers', () => {
    make().connect();
    const seen: string[] = [];
    client.on('asset_update', (d) => seen.push(`${d.symbol}@${d.price}`));
    server.latest.accept();
    server.latest.push('asset_updates', {
      updates: [
        { symbol: 'AAPL', price: 1 },
        { symbol: 'MSFT', price: 2 },
      ],
    });
    expect(seen).toEqual(['AAPL@1', 'MSFT@2']);
  });

  it('keeps delivering when a listener throws, and reports the exception', () => {
    const errors: unknown[] = [];
    make({ onListenerError: (e) => errors.push(e) }).connect();
    const seen: string[] = [];
    client.on('asset_update', () => {
      throw new Error('faulty listener');
    });
    client.on('asset_update', (d) => seen.push(d.symbol));
    server.latest.accept();
    server.latest.push('asset_update', { symbol: 'MSFT', price: 1 });
    expect(seen).toEqual(['MSFT']);
    expect(errors).toEqual([new Error('faulty listener')]);
    expect(client.state).toBe('connected');
  });
});
