import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { closeRedisClient, createRedisClient } from '../../bus/redis-connection';
import { RedisLinkState } from '../../bus/redis-link';
import { AppConfig } from '../../config/app-config';
import { withDeadline } from '../../database/db-errors';
import { ConnectionRegistry } from '../hub/connection-registry';
import { RealtimeHub } from '../hub/realtime-hub.service';
import { ClusterPresence, ConnectionSlot, SlotAdmission } from './cluster-presence';
import { GlobalStats, InstanceStats, mergeInstanceStats, parseInstanceStats } from './instance-stats';

/** Longest a handshake or the status page waits for Redis before falling back to this instance's own figures. */
export const CLUSTER_REDIS_TIMEOUT_MS = 1_000;
/** The status page reads at most this many instances. */
const MAX_INSTANCES = 1_000;

/**
 * Admission: the user's connections on every live instance (an instance is live while its
 * stats key exists; members of dead ones are dropped on the way), plus this instance's
 * (the larger of its mirror and its own count), against the limit; on room, one more here.
 * Atomic, so two instances admitting the same user at once cannot both take the last slot.
 * KEYS: instances set, this instance's users hash. ARGV: prefix, own id, user id, limit, ttl ms, local count.
 */
const ACQUIRE_LUA = `
local others = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[2] then
    if redis.call('EXISTS', ARGV[1] .. 'instance:' .. id) == 1 then
      others = others + (tonumber(redis.call('HGET', ARGV[1] .. 'instance-users:' .. id, ARGV[3])) or 0)
    else
      redis.call('SREM', KEYS[1], id)
      redis.call('DEL', ARGV[1] .. 'instance-users:' .. id)
    end
  end
end
local mine = math.max(tonumber(redis.call('HGET', KEYS[2], ARGV[3])) or 0, tonumber(ARGV[6]))
if others + mine >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], mine + 1)
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1
`;

/** KEYS: this instance's users hash. ARGV: user id. */
const RELEASE_LUA = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return n
`;

/**
 * Heartbeat: this instance's stats (expiring after the TTL), its place in the instances set,
 * its users hash kept alive. Returns whether the stats key still existed: 0 after a first
 * start or an absence longer than the TTL (the others have dropped this instance's counts).
 * KEYS: stats key, users hash, instances set. ARGV: stats JSON, ttl ms, own id.
 */
const HEARTBEAT_LUA = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return existed
`;

/** Replaces this instance's users hash with its true counts. KEYS: users hash. ARGV: ttl ms, then user id, count pairs. */
const RESYNC_LUA = `
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if #ARGV > 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return #ARGV
`;

interface PresenceCommands {
  rmPresenceAcquire(...args: (string | number)[]): Promise<number>;
  rmPresenceRelease(...args: (string | number)[]): Promise<number>;
  rmPresenceHeartbeat(...args: (string | number)[]): Promise<number>;
  rmPresenceResync(...args: (string | number)[]): Promise<number>;
}

/**
 * With REDIS_URL: MAX_CONNECTIONS_PER_USER across every API instance, and /realtime/status/
 * for the whole cluster. Keys (under REDIS_PREFIX): `instances` (set of ids),
 * `instance:<id>` (its stats, JSON, expiring CLUSTER_INSTANCE_TTL seconds after its last
 * heartbeat, sent every third of that), `instance-users:<id>` (user id -> its connections there).
 *
 * An instance that dies or loses Redis stops counting once its stats key expires: a user is
 * never locked out by a dead instance for longer than CLUSTER_INSTANCE_TTL. When Redis does
 * not answer within CLUSTER_REDIS_TIMEOUT_MS, a handshake is admitted on this instance's own
 * count (said once in the log) and this instance rewrites its counts when Redis is back.
 */
export class RedisClusterPresence extends ClusterPresence implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ClusterPresence');
  private readonly client: Redis & PresenceCommands;
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  /** This instance's users hash may be wrong (a Redis call failed, or the others dropped it): rewrite it. */
  private dirty = true;
  /** Handshakes are being admitted on the local count (logged once per outage). */
  private degraded = false;
  private readonly keys: { instances: string; self: string; users: string };

  constructor(
    config: AppConfig,
    registry: ConnectionRegistry,
    hub: RealtimeHub,
    private readonly link: RedisLinkState,
  ) {
    super(config, registry, hub);
    this.ttlMs = config.CLUSTER_INSTANCE_TTL * 1000;
    const prefix = config.REDIS_PREFIX;
    this.keys = { instances: `${prefix}instances`, self: `${prefix}instance:${this.instanceId}`, users: `${prefix}instance-users:${this.instanceId}` };
    const client = createRedisClient(config.REDIS_URL!, link, { name: 'rm-cluster', maxRetriesPerRequest: 1 });
    client.defineCommand('rmPresenceAcquire', { numberOfKeys: 2, lua: ACQUIRE_LUA });
    client.defineCommand('rmPresenceRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    client.defineCommand('rmPresenceHeartbeat', { numberOfKeys: 3, lua: HEARTBEAT_LUA });
    client.defineCommand('rmPresenceResync', { numberOfKeys: 1, lua: RESYNC_LUA });
    this.client = client as Redis & PresenceCommands;
  }

  onApplicationBootstrap(): void {
    void this.heartbeat();
    this.timer = setInterval(() => void this.heartbeat(), Math.max(1000, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    // Leave at once rather than after the TTL: this instance's connections are closed by now.
    await withDeadline(
      this.client.multi().del(this.keys.self, this.keys.users).srem(this.keys.instances, this.instanceId).exec(),
      CLUSTER_REDIS_TIMEOUT_MS,
      () => new Error('timeout'),
    ).catch(() => undefined);
    await closeRedisClient(this.link, this.client);
  }

  async acquire(userId: number): Promise<SlotAdmission> {
    const limit = this.config.MAX_CONNECTIONS_PER_USER;
    try {
      const admitted = await withDeadline(
        this.client.rmPresenceAcquire(
          this.keys.instances,
          this.keys.users,
          this.config.REDIS_PREFIX,
          this.instanceId,
          userId,
          limit,
          this.ttlMs,
          this.registry.userConnectionCount(userId),
        ),
        CLUSTER_REDIS_TIMEOUT_MS,
        () => new Error(`no answer within ${CLUSTER_REDIS_TIMEOUT_MS} ms`),
      );
      if (this.degraded) {
        this.degraded = false;
        this.logger.log('Redis answers again: MAX_CONNECTIONS_PER_USER holds across instances again');
      }
      return admitted === 1 ? { ok: true, slot: { userId, counted: true, released: false } } : { ok: false, limit };
    } catch (err) {
      this.dirty = true;
      if (!this.degraded) {
        this.degraded = true;
        this.logger.warn(
          `Redis did not answer a connection admission (${(err as Error).message}): until it does, MAX_CONNECTIONS_PER_USER is enforced per instance`,
        );
      }
      if (!this.localRoom(userId)) return { ok: false, limit };
      return { ok: true, slot: { userId, counted: false, released: false } };
    }
  }

  protected returned(slot: ConnectionSlot): void {
    // Not counted in Redis (admitted during an outage): the rewrite after it (dirty) has the true count.
    if (!slot.counted) return;
    this.client.rmPresenceRelease(this.keys.users, slot.userId).catch(() => {
      this.dirty = true;
    });
  }

  async globalStats(): Promise<GlobalStats> {
    try {
      return await withDeadline(this.readCluster(), CLUSTER_REDIS_TIMEOUT_MS, () => new Error('timeout'));
    } catch {
      return this.instanceOnly();
    }
  }

  private async readCluster(): Promise<GlobalStats> {
    const ids = (await this.client.smembers(this.keys.instances)).filter((id) => id !== this.instanceId).slice(0, MAX_INSTANCES);
    const stats: InstanceStats[] = [this.localStats()];
    const users = new Map<string, Iterable<string | number>>([[this.instanceId, [...this.registry.userCounts()].map(([u]) => u)]]);
    if (ids.length > 0) {
      const pipeline = this.client.pipeline();
      for (const id of ids) pipeline.get(`${this.config.REDIS_PREFIX}instance:${id}`).hkeys(`${this.config.REDIS_PREFIX}instance-users:${id}`);
      const replies = (await pipeline.exec()) ?? [];
      ids.forEach((id, i) => {
        const [statsErr, raw] = replies[2 * i] ?? [new Error('missing'), null];
        const [usersErr, userIds] = replies[2 * i + 1] ?? [new Error('missing'), null];
        const parsed = statsErr ? null : parseInstanceStats(raw as string | null, id);
        if (!parsed) return; // gone (expired) or not ours
        stats.push(parsed);
        if (!usersErr && Array.isArray(userIds) && userIds.every((u) => typeof u === 'string' && /^\d{1,15}$/.test(u))) users.set(id, userIds as string[]);
      });
    }
    return mergeInstanceStats(stats, this.instanceId, 'cluster', users);
  }

  /** Publishes this instance's stats; rewrites its counts when they may be wrong. Never two at once. */
  private heartbeat(): Promise<void> {
    if (this.beating) return this.beating;
    this.beating = this.beat().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }

  private async beat(): Promise<void> {
    try {
      const existed = await withDeadline(
        this.client.rmPresenceHeartbeat(this.keys.self, this.keys.users, this.keys.instances, JSON.stringify(this.localStats()), this.ttlMs, this.instanceId),
        CLUSTER_REDIS_TIMEOUT_MS,
        () => new Error('timeout'),
      );
      if (existed === 0) this.dirty = true;
      if (this.dirty) await this.resync();
    } catch {
      this.dirty = true; // the link's own warning says Redis is away
    }
  }

  /** Writes this instance's true per-user counts; from then on every open connection's slot is counted there. */
  private async resync(): Promise<void> {
    this.dirty = false;
    const pairs: (string | number)[] = [];
    for (const [userId, n] of this.registry.userCounts()) pairs.push(userId, n);
    try {
      await withDeadline(this.client.rmPresenceResync(this.keys.users, this.ttlMs, ...pairs), CLUSTER_REDIS_TIMEOUT_MS, () => new Error('timeout'));
      for (const conn of this.registry.all()) if (conn.slot) conn.slot.counted = true;
    } catch {
      this.dirty = true;
    }
  }
}
