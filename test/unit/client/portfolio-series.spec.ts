import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../../client/realtime-client';
import type { PortfolioPointData, PortfolioSeriesData } from '../../../client/protocol';
import type { Transport, TransportEvents } from '../../../client/transport';

/** The typed client's side of `subscribe_portfolio` with `series`, through an in-memory transport under fake timers. */
interface Sent {
  type: string;
  data: Record<string, unknown>;
  id?: string;
}

class FakeTransport implements Transport {
  readonly kind = 'websocket' as const;
  readonly sent: Sent[] = [];
  private ended = false;
  constructor(private readonly events: TransportEvents) {}
  send(envelope: { type: string } & Record<string, unknown>): string {
    if (this.ended) throw new Error('Not connected');
    this.sent.push(envelope as unknown as Sent);
    return JSON.stringify(envelope);
  }
  sendRaw(): void {}
  close(): void {
    this.ended = true;
  }
  accept(): void {
    this.events.open();
    this.push('connection', { status: 'connected', connection_id: 'c', authenticated: true, user_id: 1 });
  }
  push(type: string, data: unknown, id?: string): void {
    const env: Record<string, unknown> = { type, data, timestamp: new Date().toISOString(), ...(id === undefined ? {} : { id }) };
    this.events.message(env, JSON.stringify(env));
  }
  answer(type: string, reply: string, data: Record<string, unknown> = {}): void {
    const req = [...this.sent].reverse().find((e) => e.type === type)!;
    this.push(reply, reply === 'error' ? { ...data, id: req.id, request_type: type } : data, reply === 'error' ? undefined : req.id);
  }
  drop(): void {
    this.ended = true;
    this.events.close({ code: 1006, reason: 'lost' });
  }
}

describe('RealtimeClient: portfolio series', () => {
  let transports: FakeTransport[];
  let client: RealtimeClient;
  const latest = () => transports.at(-1)!;

  beforeEach(() => {
    vi.useFakeTimers();
    transports = [];
    client = new RealtimeClient({
      transportFactory: (events) => {
        const t = new FakeTransport(events);
        transports.push(t);
        return t;
      },
      reconnect: { initialDelayMs: 100, maxDelayMs: 100, factor: 1, jitter: 0 },
      random: () => 0,
    });
  });
  afterEach(() => {
    client.dispose();
    vi.useRealTimers();
  });

  it('asks for the series, passes portfolio_series and portfolio_point to typed listeners, and asks again after a reconnect', async () => {
    const series: PortfolioSeriesData[] = [];
    const points: PortfolioPointData[] = [];
    client.on('portfolio_series', (d) => series.push(d));
    client.on('portfolio_point', (d) => points.push(d));
    client.connect();
    latest().accept();
    const sub = client.subscribePortfolio(42, { series: '1d' });
    expect(latest().sent.at(-1)).toMatchObject({ type: 'subscribe_portfolio', data: { portfolio_id: 42, series: '1d' } });
    latest().answer('subscribe_portfolio', 'subscribed', { assets: [], portfolios: [42], subscriptions: { assets: [], portfolios: [42] } });
    await sub;
    latest().push('portfolio_series', { portfolio_id: 42, range: '1d', points: [{ t: '2026-01-15T10:30:00.000Z', value: '100' }] });
    latest().push('portfolio_point', { portfolio_id: 42, t: '2026-01-15T10:31:00.000Z', value: '101.5' });
    expect(series).toEqual([{ portfolio_id: 42, range: '1d', points: [{ t: '2026-01-15T10:30:00.000Z', value: '100' }] }]);
    expect(points).toEqual([{ portfolio_id: 42, t: '2026-01-15T10:31:00.000Z', value: '101.5' }]);

    latest().drop();
    await vi.advanceTimersByTimeAsync(100);
    latest().accept();
    expect(latest().sent.map((e) => [e.type, e.data])).toEqual([['subscribe_portfolio', { portfolio_id: 42, series: '1d' }]]);
  });

  it('a subscribe without series, an unsubscribe, or a refusal forgets the series', async () => {
    client.connect();
    latest().accept();
    // Left unanswered: they fail when the connection drops below.
    const unanswered = [
      client.subscribePortfolio(1, { series: '1d' }),
      client.subscribePortfolio(2, { series: '1d' }),
      client.subscribePortfolio(3, { series: '1d' }),
      client.subscribePortfolio(4, { series: '1d' }),
      client.subscribePortfolio(2),
      client.unsubscribePortfolio(3),
    ].map((p) => p.catch(() => undefined));
    const refused = client.subscribePortfolio(5, { series: '1d' });
    latest().answer('subscribe_portfolio', 'error', { code: 'NOT_FOUND', message: 'Portfolio 5 not found' });
    await expect(refused).rejects.toMatchObject({ code: 'NOT_FOUND' });

    latest().drop();
    await Promise.all(unanswered);
    await vi.advanceTimersByTimeAsync(100);
    latest().accept();
    expect(latest().sent.map((e) => [e.type, e.data])).toEqual([
      ['subscribe_portfolio', { portfolio_id: 1, series: '1d' }],
      ['subscribe_portfolio', { portfolio_id: 2 }],
      ['subscribe_portfolio', { portfolio_id: 4, series: '1d' }],
    ]);
  });
});
