import { describe, expect, it } from 'vitest';
import { InstanceStats, mergeInstanceStats, parseInstanceStats, WATCHED_TOPICS_LIMIT } from './instance-stats';

function stats(id: string, over: Partial<InstanceStats> = {}): InstanceStats {
  return {
    id,
    started_at: '2026-12-07T05:00:00.000Z',
    last_seen: '2026-12-07T06:00:00.000Z',
    connections: 3,
    connections_by_transport: { websocket: 2, socketio: 1 },
    authenticated_users: 2,
    asset_subscriptions: 4,
    portfolio_subscriptions: 1,
    conflated_connections: 0,
    distinct_assets: 2,
    distinct_portfolios: 1,
    assets: ['AAPL', 'MSFT'],
    portfolios: [7],
    topics_truncated: false,
    ...over,
  };
}

describe('parseInstanceStats (what another instance published in Redis: untrusted)', () => {
  it('accepts exactly the published shape', () => {
    expect(parseInstanceStats(JSON.stringify(stats('i1')), 'i1')).toEqual(stats('i1'));
  });

  it.each([
    ['not JSON', '{'],
    ['null', 'null'],
    ['another id', JSON.stringify(stats('i2'))],
    ['a negative count', JSON.stringify(stats('i1', { connections: -1 }))],
    ['a fractional count', JSON.stringify(stats('i1', { asset_subscriptions: 1.5 }))],
    ['a string count', JSON.stringify({ ...stats('i1'), total: 1, connections: '3' })],
    ['no transports', JSON.stringify({ ...stats('i1'), connections_by_transport: null })],
    ['a bad time', JSON.stringify(stats('i1', { last_seen: 'yesterday' }))],
    ['a non-string symbol', JSON.stringify({ ...stats('i1'), assets: [1] })],
    ['too many symbols', JSON.stringify(stats('i1', { assets: Array.from({ length: WATCHED_TOPICS_LIMIT + 1 }, (_, i) => `S${i}`) }))],
    ['a portfolio id that is not a count', JSON.stringify({ ...stats('i1'), portfolios: ['7'] })],
  ])('drops %s', (_what, raw) => {
    expect(parseInstanceStats(raw, 'i1')).toBeNull();
  });

  it('drops a missing key', () => {
    expect(parseInstanceStats(null, 'i1')).toBeNull();
  });
});

describe('mergeInstanceStats', () => {
  it('adds counts up, counts a user on two instances once, and unions topics', () => {
    const merged = mergeInstanceStats(
      [stats('b', { assets: ['AAPL', 'GOOGL'], portfolios: [7, 8], distinct_portfolios: 2 }), stats('a')],
      'a',
      'cluster',
      new Map([
        ['a', ['1', '2']],
        ['b', [2, 3]],
      ]),
    );
    expect(merged).toEqual({
      scope: 'cluster',
      total_connections: 6,
      authenticated_users: 3,
      portfolio_subscriptions: 2,
      asset_subscriptions: 8,
      distinct_assets: 3,
      distinct_portfolios: 2,
      connections_by_transport: { websocket: 4, socketio: 2, sse: 0 },
      conflated_connections: 0,
      instances: [
        {
          id: 'a',
          connections: 3,
          connections_by_transport: { websocket: 2, socketio: 1, sse: 0 },
          authenticated_users: 2,
          last_seen: '2026-12-07T06:00:00.000Z',
          self: true,
        },
        {
          id: 'b',
          connections: 3,
          connections_by_transport: { websocket: 2, socketio: 1, sse: 0 },
          authenticated_users: 2,
          last_seen: '2026-12-07T06:00:00.000Z',
          self: false,
        },
      ],
    });
  });

  it("uses an instance's own user count when its user ids are not known", () => {
    expect(mergeInstanceStats([stats('a'), stats('b')], 'a', 'cluster', new Map([['a', ['1']]])).authenticated_users).toBe(1 + 2);
  });

  it("reports at least the largest instance's distinct counts when an instance published only part of its topics", () => {
    const big = stats('a', { assets: ['AAPL'], distinct_assets: 30_000, topics_truncated: true });
    expect(mergeInstanceStats([big, stats('b')], 'a', 'cluster').distinct_assets).toBe(30_000);
  });
});
