/**
 * What each API instance publishes about itself (with REDIS_URL) and how /realtime/status/
 * adds the instances up. Pure functions: what arrives from Redis is untrusted and checked here.
 */
import type { GlobalStats } from '../../common/api-types';

/** At most this many symbols and portfolio ids per instance go into its published stats (distinct counts beyond it are lower bounds). */
export const WATCHED_TOPICS_LIMIT = 20_000;

export interface InstanceStats {
  id: string;
  started_at: string;
  /** When these figures were taken (ISO 8601). */
  last_seen: string;
  connections: number;
  /** `sse` is absent in what an instance of an older version publishes (counted as 0). */
  connections_by_transport: { websocket: number; socketio: number; sse?: number };
  authenticated_users: number;
  asset_subscriptions: number;
  portfolio_subscriptions: number;
  conflated_connections: number;
  distinct_assets: number;
  distinct_portfolios: number;
  /** Symbols and portfolio ids with a subscriber on the instance (at most WATCHED_TOPICS_LIMIT each). */
  assets: string[];
  portfolios: number[];
  topics_truncated: boolean;
}

/** `global_stats` of /realtime/status/ and its `instances`: shared REST shapes in src/common/api-types.ts. */
export type { GlobalStats, InstanceSummary } from '../../common/api-types';

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isoTime = (v: unknown): v is string => typeof v === 'string' && v.length <= 40 && !Number.isNaN(Date.parse(v));

/**
 * Parses one instance's published stats; null for anything that is not exactly that shape
 * (a foreign or damaged key must not break the status page or inflate its numbers).
 */
export function parseInstanceStats(raw: string | null | undefined, expectedId: string): InstanceStats | null {
  if (typeof raw !== 'string' || raw.length > 4 * 1024 * 1024) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const t = o.connections_by_transport as Record<string, unknown> | null | undefined;
  if (o.id !== expectedId || !isoTime(o.started_at) || !isoTime(o.last_seen)) return null;
  const counts = [
    o.connections,
    o.authenticated_users,
    o.asset_subscriptions,
    o.portfolio_subscriptions,
    o.conflated_connections,
    o.distinct_assets,
    o.distinct_portfolios,
  ];
  if (!counts.every(count)) return null;
  if (typeof t !== 'object' || t === null || !count(t.websocket) || !count(t.socketio) || (t.sse !== undefined && !count(t.sse))) return null;
  if (!Array.isArray(o.assets) || o.assets.length > WATCHED_TOPICS_LIMIT || !o.assets.every((s) => typeof s === 'string' && s.length <= 64)) return null;
  if (!Array.isArray(o.portfolios) || o.portfolios.length > WATCHED_TOPICS_LIMIT || !o.portfolios.every(count)) return null;
  if (typeof o.topics_truncated !== 'boolean') return null;
  return o as unknown as InstanceStats;
}

/**
 * Adds the instances up. `usersByInstance` holds each instance's logged-in user ids (a user
 * connected to two instances is one user); where it is missing the instance's own count is used.
 */
export function mergeInstanceStats(
  instances: InstanceStats[],
  selfId: string,
  scope: GlobalStats['scope'],
  usersByInstance?: Map<string, Iterable<string | number>>,
): GlobalStats {
  const byTransport = { websocket: 0, socketio: 0, sse: 0 };
  const assets = new Set<string>();
  const portfolios = new Set<number>();
  const users = new Set<string>();
  let usersWithoutIds = 0;
  let total = 0;
  let assetSubs = 0;
  let portfolioSubs = 0;
  let conflated = 0;
  let truncated = false;
  let maxAssets = 0;
  let maxPortfolios = 0;
  const sorted = [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const s of sorted) {
    total += s.connections;
    byTransport.websocket += s.connections_by_transport.websocket;
    byTransport.socketio += s.connections_by_transport.socketio;
    byTransport.sse += s.connections_by_transport.sse ?? 0;
    assetSubs += s.asset_subscriptions;
    portfolioSubs += s.portfolio_subscriptions;
    conflated += s.conflated_connections;
    for (const a of s.assets) assets.add(a);
    for (const p of s.portfolios) portfolios.add(p);
    truncated ||= s.topics_truncated;
    maxAssets = Math.max(maxAssets, s.distinct_assets);
    maxPortfolios = Math.max(maxPortfolios, s.distinct_portfolios);
    const ids = usersByInstance?.get(s.id);
    if (ids) for (const u of ids) users.add(String(u));
    else usersWithoutIds += s.authenticated_users;
  }
  return {
    scope,
    total_connections: total,
    authenticated_users: users.size + usersWithoutIds,
    portfolio_subscriptions: portfolioSubs,
    asset_subscriptions: assetSubs,
    // Past WATCHED_TOPICS_LIMIT an instance publishes only part of its topics: a lower bound then.
    distinct_assets: truncated ? Math.max(assets.size, maxAssets) : assets.size,
    distinct_portfolios: truncated ? Math.max(portfolios.size, maxPortfolios) : portfolios.size,
    connections_by_transport: byTransport,
    conflated_connections: conflated,
    instances: sorted.map((s) => ({
      id: s.id,
      connections: s.connections,
      connections_by_transport: {
        websocket: s.connections_by_transport.websocket,
        socketio: s.connections_by_transport.socketio,
        sse: s.connections_by_transport.sse ?? 0,
      },
      authenticated_users: s.authenticated_users,
      last_seen: s.last_seen,
      self: s.id === selfId,
    })),
  };
}
