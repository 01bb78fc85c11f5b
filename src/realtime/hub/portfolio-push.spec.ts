import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PortfolioValuation, PositionValuation } from '../../portfolios/valuation/valuation.types';
import type { ServerMessage } from '../protocol/server-messages';
import { Connection } from './connection';
import { OutboundFlow } from './outbound-flow';
import { OutboundFrame } from './outbound-frame';
import { PortfolioPushes } from './portfolio-push';
import { toPortfolioUpdate } from './portfolio-update.mapper';
import { SubscriptionIndex } from './subscription-index';

class FakeConnection extends Connection {
  readonly kind = 'websocket' as const;
  sent: OutboundFrame[] = [];
  bufferedBytes() {
    return 0;
  }
  sendFrame(f: OutboundFrame) {
    this.sent.push(f);
  }
  sendMessage(_m: ServerMessage) {}
  ping() {
    return true;
  }
  close() {}
  terminate() {}
  data(i = -1) {
    return JSON.parse(this.sent.at(i)!.dataJson);
  }
}

const valuation = (total: string): PortfolioValuation => ({
  portfolio_id: 1,
  owner_id: 7,
  name: 'P',
  total_value: total,
  daily_change: '0',
  daily_change_percent: '0',
  positions_count: 2,
  as_of: '2026-01-15T10:00:00.000Z',
  stale: false,
});
const position = (symbol: string, price: string): PositionValuation => ({
  symbol,
  quantity: '1',
  current_price: price,
  previous_close: price,
  market_value: price,
  daily_change: '0',
  daily_change_percent: '0',
  as_of: null,
});

describe('PortfolioPushes', () => {
  let flow: OutboundFlow;
  let pushes: PortfolioPushes;
  let positions: PositionValuation[];
  const index = new SubscriptionIndex();
  let seq = 0;

  /** A subscribed connection with these options, its snapshot already pushed. */
  function subscriber(options: { minChangeBps?: number; maxIntervalMs?: number; positions?: boolean }) {
    const conn = new FakeConnection();
    conn.userId = 7;
    pushes.configure(conn, { minChangeBps: 0, maxIntervalMs: 0, positions: false, ...options }, () => undefined);
    const topic = index.addPortfolio(conn, 1) ?? index.peekPortfolio(1)!;
    pushes.snapshot(conn, topic, valuation('1000'), ++seq, null);
    return { conn, topic };
  }
  const offer = (conn: Connection, total: string) => {
    const topic = index.peekPortfolio(1)!;
    const v = valuation(total);
    return pushes.offer(conn, topic, v, ++seq, OutboundFrame.of('portfolio_update', toPortfolioUpdate(v, seq), topic.key));
  };

  beforeEach(() => {
    vi.useFakeTimers();
    flow = new OutboundFlow({ highWater: 1e9, hardLimit: 2e9, stallMs: 60_000, pollMs: 50 }, () => undefined);
    positions = [position('A', '400'), position('B', '600')];
    pushes = new PortfolioPushes(flow, () => positions);
  });
  afterEach(() => {
    pushes.stop();
    flow.stop();
    vi.useRealTimers();
  });

  it('holds back moves under the threshold until the move since the last push crosses it (exact decimals)', () => {
    const { conn } = subscriber({ minChangeBps: 100 });
    expect(conn.sent).toHaveLength(1);
    expect(offer(conn, '1009.99999999')).toBe(false); // 99.9999999 bps
    expect(offer(conn, '1010')).toBe(true); // exactly 100 bps
    expect(conn.data().total_value).toBe(1010);
    expect(offer(conn, '1000')).toBe(false); // 99.0099 bps of 1010
    expect(offer(conn, '999.9')).toBe(true);
    expect(conn.sent).toHaveLength(3);
  });

  it('pushes a held-back change when its interval is up, with one timer for every connection', () => {
    const subs = Array.from({ length: 50 }, () => subscriber({ minChangeBps: 500, maxIntervalMs: 2_000 }).conn);
    const timersBefore = vi.getTimerCount();
    for (const c of subs) expect(offer(c, '1001')).toBe(false);
    expect(pushes.waitingCount).toBe(50);
    expect(vi.getTimerCount()).toBe(timersBefore + 1);
    vi.advanceTimersByTime(1_990);
    expect(subs.every((c) => c.sent.length === 1)).toBe(true);
    vi.advanceTimersByTime(10);
    expect(subs.every((c) => c.sent.length === 2 && c.data().total_value === 1001)).toBe(true);
    expect(pushes.waitingCount).toBe(0);
    expect(vi.getTimerCount()).toBe(timersBefore);
  });

  it('lists every position first, then only the changed ones, and every one again while conflated', () => {
    const { conn } = subscriber({ positions: true });
    expect(conn.data()).toMatchObject({ positions_complete: true, positions: [{ symbol: 'A' }, { symbol: 'B' }] });
    positions = [position('A', '401'), position('B', '600')];
    offer(conn, '1001');
    expect(conn.data()).toMatchObject({ positions_complete: false, positions: [{ symbol: 'A', current_price: '401' }] });
    expect(conn.data().positions).toHaveLength(1);
    offer(conn, '1001');
    expect(conn.data()).toMatchObject({ positions_complete: false, positions: [] });
    conn.conflated = new Map();
    positions = [position('A', '402'), position('B', '600')];
    offer(conn, '1002');
    const pending = [...conn.conflated.values()].at(-1)!;
    expect(JSON.parse(pending.dataJson)).toMatchObject({ positions_complete: true });
    expect(JSON.parse(pending.dataJson).positions).toHaveLength(2);
  });

  it('sends what is held back when the options go back to the defaults', () => {
    const { conn, topic } = subscriber({ minChangeBps: 1000 });
    offer(conn, '1001');
    topic.frame = OutboundFrame.of('portfolio_update', toPortfolioUpdate(valuation('1001'), seq), topic.key);
    topic.valuation = valuation('1001');
    pushes.configure(conn, { minChangeBps: 0, maxIntervalMs: 0, positions: false }, () => topic);
    expect(conn.portfolioPush).toBeNull();
    expect(conn.data().total_value).toBe(1001);
  });
});
