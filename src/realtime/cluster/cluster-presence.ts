import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import type { Connection } from '../hub/connection';
import { ConnectionRegistry } from '../hub/connection-registry';
import { RealtimeHub } from '../hub/realtime-hub.service';
import { GlobalStats, InstanceStats, mergeInstanceStats, WATCHED_TOPICS_LIMIT } from './instance-stats';

/**
 * One logged-in connection's place in its user's MAX_CONNECTIONS_PER_USER count, taken at the
 * handshake (before the connection exists) and given back exactly once.
 */
export interface ConnectionSlot {
  readonly userId: number;
  /** Counted in the cluster-wide count (Redis); false when it was admitted on the local count alone. */
  counted: boolean;
  released: boolean;
}

export type SlotAdmission = { ok: true; slot: ConnectionSlot } | { ok: false; limit: number };

/**
 * The realtime service as one of possibly several API instances: who holds how many
 * connections (MAX_CONNECTIONS_PER_USER across all instances) and the figures of
 * /realtime/status/. Two implementations, chosen by REDIS_URL: LocalPresence (this
 * instance is the whole service, as without Redis) and RedisClusterPresence.
 *
 * Both transports take a slot for every logged-in handshake (`acquire`) and refuse the
 * connection when there is none; the slot goes back when the registry frees the
 * connection's user slot (close, logout) or when the handshake does not complete (`release`).
 */
export abstract class ClusterPresence {
  /** This process's id among the API instances: host name, process id and a random part. */
  readonly instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly startedAt = new Date().toISOString();

  constructor(
    protected readonly config: AppConfig,
    protected readonly registry: ConnectionRegistry,
    protected readonly hub: RealtimeHub,
  ) {
    registry.onSlotFreed((conn: Connection) => {
      if (conn.slot) this.release(conn.slot);
      conn.slot = null;
    });
  }

  /** A slot for one more connection of `userId`, or the limit it would exceed. */
  abstract acquire(userId: number): Promise<SlotAdmission>;

  /** Gives a slot back (idempotent). */
  release(slot: ConnectionSlot): void {
    if (slot.released) return;
    slot.released = true;
    this.returned(slot);
  }

  /** `global_stats` of /realtime/status/. */
  abstract globalStats(): Promise<GlobalStats>;

  protected abstract returned(slot: ConnectionSlot): void;

  /** This instance's figures, as published to the others. */
  localStats(): InstanceStats {
    const s = this.hub.stats();
    const topics = this.hub.index.watchedTopics(WATCHED_TOPICS_LIMIT);
    return {
      id: this.instanceId,
      started_at: this.startedAt,
      last_seen: new Date().toISOString(),
      connections: s.total_connections,
      connections_by_transport: s.connections_by_transport,
      authenticated_users: s.authenticated_users,
      asset_subscriptions: s.asset_subscriptions,
      portfolio_subscriptions: s.portfolio_subscriptions,
      conflated_connections: s.outbound.conflated_connections,
      distinct_assets: s.distinct_assets,
      distinct_portfolios: s.distinct_portfolios,
      assets: topics.assets,
      portfolios: topics.portfolios,
      topics_truncated: topics.truncated,
    };
  }

  /** This instance alone (no Redis, or Redis not answering). */
  protected instanceOnly(): GlobalStats {
    return mergeInstanceStats([this.localStats()], this.instanceId, 'instance');
  }

  /** Whether the local count leaves room for one more connection of `userId`. */
  protected localRoom(userId: number): boolean {
    return this.registry.userConnectionCount(userId) < this.config.MAX_CONNECTIONS_PER_USER;
  }
}

/** Without REDIS_URL: this instance is the service; counts and figures are its own. */
export class LocalPresence extends ClusterPresence {
  acquire(userId: number): Promise<SlotAdmission> {
    if (!this.localRoom(userId)) return Promise.resolve({ ok: false, limit: this.config.MAX_CONNECTIONS_PER_USER });
    return Promise.resolve({ ok: true, slot: { userId, counted: false, released: false } });
  }

  globalStats(): Promise<GlobalStats> {
    return Promise.resolve(this.instanceOnly());
  }

  protected returned(): void {
    // The registry's own count is the whole count.
  }
}
