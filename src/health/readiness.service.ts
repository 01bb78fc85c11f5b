import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RedisLinkState } from '../bus/redis-link';
import { AppConfig } from '../config/app-config';
import { classifyDbError, DatabaseUnavailableError, pgErrorCode, withDeadline } from '../database/db-errors';
import { FeedHeartbeat, PriceFeedStatus } from '../price-feed/feed/price-feed-status.service';
import { PriceFeedRedis } from '../price-feed/redis/price-feed-redis.service';

/** Longest wait for the database's answer to the readiness query (a frozen server: 503 within this). */
export const READY_DB_TIMEOUT_MS = 1_500;
/** Longest wait for Redis (PING, the feed heartbeat). */
export const READY_REDIS_TIMEOUT_MS = 1_000;
/** Unset READY_MAX_FEED_AGE: this many feed intervals, and never under READY_MIN_FEED_AGE_S. */
export const READY_FEED_AGE_INTERVALS = 5;
export const READY_MIN_FEED_AGE_S = 30;

export interface DatabaseCheck {
  status: 'up' | 'down';
  latency_ms: number;
  error?: string;
}

export interface RedisCheck {
  status: 'up' | 'down';
  latency_ms: number | null;
  error?: string;
}

/**
 * - `fresh`: the last run is at most `max_age_s` old; `starting`: no run seen yet, the process is younger than `max_age_s`;
 * - `stale`: older, or no run seen for longer than that (fails readiness);
 * - `off`: PRICE_FEED_MODE=off; `not checked`: READY_MAX_FEED_AGE=0; `unknown`: the heartbeat in Redis cannot be
 *   read (the Redis check says why) or, without REDIS_URL, another process leads the feed out of sight.
 */
export type FeedCheckStatus = 'fresh' | 'starting' | 'stale' | 'off' | 'not checked' | 'unknown';

export interface FeedCheck {
  status: FeedCheckStatus;
  mode: string;
  /** Where last_run_at comes from: this process's feed, or the feed heartbeat in Redis (another process). */
  source: 'local' | 'heartbeat' | null;
  last_run_at: string | null;
  age_s: number | null;
  max_age_s: number | null;
  error?: string;
}

export interface ReadinessReport {
  status: 'ready' | 'not_ready';
  checks: {
    database: DatabaseCheck;
    redis: RedisCheck | 'not configured';
    price_feed: FeedCheck;
  };
  timestamp: string;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
/** Milliseconds as seconds, to the millisecond (an age just past the limit never reads as the limit itself). */
const seconds = (ms: number) => Math.round(ms) / 1000;

/**
 * Readiness of this API instance (GET /health/ready): the database answers a `SELECT 1`
 * within READY_DB_TIMEOUT_MS, Redis answers (REDIS_URL set) and the price feed ran within
 * READY_MAX_FEED_AGE seconds. Every wait is bounded: a frozen database or Redis makes the
 * instance "not ready" within about a second and a half, never a hanging probe. At most
 * one readiness query is waiting on the database at a time (probes during a stall join it
 * instead of taking more pool connections). Transitions are logged once each.
 */
@Injectable()
export class ReadinessService {
  private readonly logger = new Logger('Readiness');
  private readonly startedAt = Date.now();
  private dbQuery?: Promise<unknown>;
  /** The newest feed run seen through the heartbeat (kept when the heartbeat key expires: the age keeps growing). */
  private heartbeatRunAt: number | null = null;
  private heartbeatInterval: number | null = null;
  private lastStatus: ReadinessReport['status'] | null = null;

  constructor(
    private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    private readonly link: RedisLinkState,
    private readonly feed: PriceFeedStatus,
    private readonly feedRedis: PriceFeedRedis,
  ) {}

  async check(): Promise<ReadinessReport> {
    const [database, redis] = await Promise.all([this.checkDatabase(), this.checkRedis()]);
    const price_feed = await this.checkFeed(redis);
    const checks = { database, redis, price_feed };
    const status = notReadyReasons(checks).length === 0 ? 'ready' : 'not_ready';
    if (status !== this.lastStatus) {
      if (status === 'not_ready') this.logger.warn(`Not ready: ${notReadyReasons(checks).join(', ')}`);
      else if (this.lastStatus === 'not_ready') this.logger.log('Ready again');
      this.lastStatus = status;
    }
    return { status, checks, timestamp: new Date().toISOString() };
  }

  private async checkDatabase(): Promise<DatabaseCheck> {
    const started = performance.now();
    if (!this.dbQuery) {
      const q = this.db.query('SELECT 1');
      this.dbQuery = q;
      void q.then(
        () => this.dbDone(q),
        () => this.dbDone(q),
      );
    }
    try {
      await withDeadline(this.dbQuery, READY_DB_TIMEOUT_MS, () => new DatabaseUnavailableError(`no answer within ${READY_DB_TIMEOUT_MS} ms`, 'timeout'));
      return { status: 'up', latency_ms: Math.round(performance.now() - started) };
    } catch (err) {
      return { status: 'down', latency_ms: Math.round(performance.now() - started), error: describeDbError(err) };
    }
  }

  private dbDone(q: Promise<unknown>): void {
    if (this.dbQuery === q) this.dbQuery = undefined;
  }

  private async checkRedis(): Promise<RedisCheck | 'not configured'> {
    const link = this.link.status();
    if (link === 'not configured') return 'not configured';
    if (link !== 'up') return { status: 'down', latency_ms: null, error: 'link down (reconnecting)' };
    const client = this.feedRedis.client;
    if (!client) return { status: 'up', latency_ms: null };
    const started = performance.now();
    try {
      await withDeadline(client.ping(), READY_REDIS_TIMEOUT_MS, () => new Error(`no answer within ${READY_REDIS_TIMEOUT_MS} ms`));
      return { status: 'up', latency_ms: Math.round(performance.now() - started) };
    } catch (err) {
      const reason = (err as Error)?.message?.startsWith('no answer') ? (err as Error).message : 'PING failed';
      return { status: 'down', latency_ms: Math.round(performance.now() - started), error: reason };
    }
  }

  private async checkFeed(redis: RedisCheck | 'not configured'): Promise<FeedCheck> {
    const mode = this.feed.mode;
    const base = { mode, source: null, last_run_at: null, age_s: null, max_age_s: null };
    // The separate feed process runs its own status ('standalone'); an API with PRICE_FEED_MODE=off has no feed to wait for.
    if (mode === 'off') return { ...base, status: 'off' };

    // This process's own runs (it leads, or led before), then the heartbeat of whichever process leads.
    let source: FeedCheck['source'] = null;
    let runAt: number | null = null;
    const local = this.feed.lastRunAt?.getTime() ?? null;
    if (local !== null) {
      source = 'local';
      runAt = local;
    }
    let heartbeatUnreadable = false;
    if (this.feed.role !== 'leader' && this.feedRedis.client) {
      if (redis !== 'not configured' && redis.status === 'up') {
        const beat = await this.readHeartbeat();
        if (beat === undefined) heartbeatUnreadable = true;
        else if (beat) this.noteHeartbeat(beat);
      } else {
        heartbeatUnreadable = true;
      }
      if (this.heartbeatRunAt !== null && (runAt === null || this.heartbeatRunAt > runAt)) {
        source = 'heartbeat';
        runAt = this.heartbeatRunAt;
      }
    }

    const maxAge = this.maxAgeSeconds();
    const now = Date.now();
    const seen = {
      mode,
      source,
      last_run_at: runAt === null ? null : new Date(runAt).toISOString(),
      age_s: runAt === null ? null : seconds(Math.max(0, now - runAt)),
      max_age_s: maxAge,
    };
    if (maxAge === 0) return { ...seen, max_age_s: 0, status: 'not checked' };
    const limitMs = maxAge * 1000;
    if (runAt !== null && now - runAt <= limitMs) return { ...seen, status: 'fresh' };
    if (heartbeatUnreadable) return { ...seen, status: 'unknown', error: 'the feed heartbeat in Redis cannot be read (see redis)' };
    if (runAt !== null) return { ...seen, status: 'stale', error: `last run ${seen.age_s} s ago (more than ${maxAge} s)` };
    if (now - this.startedAt <= limitMs) return { ...seen, status: 'starting' };
    // Without Redis the leader (another API process, or the feed process) is out of sight.
    if ((this.feed.role === 'standby' || mode === 'external') && !this.feedRedis.client) {
      return { ...seen, status: 'unknown', error: 'another process runs the feed; without REDIS_URL its runs are not visible here' };
    }
    const where =
      mode === 'external' ? 'no heartbeat of the price-feed process in Redis' : this.feed.role === 'stopped' ? 'the feed is stopped' : 'no completed feed run';
    return { ...seen, status: 'stale', error: `${where} in the ${maxAge} s since start-up` };
  }

  /** The heartbeat, null when there is none (expired or never written), undefined when Redis did not answer. */
  private async readHeartbeat(): Promise<FeedHeartbeat | null | undefined> {
    const client = this.feedRedis.client;
    if (!client) return null;
    try {
      const raw = await withDeadline(
        client.get(this.feedRedis.key(PriceFeedStatus.HEARTBEAT_KEY)),
        READY_REDIS_TIMEOUT_MS,
        () => new Error('heartbeat read timed out'),
      );
      if (!raw) return null;
      const beat = JSON.parse(raw) as Partial<FeedHeartbeat> | null;
      return beat && typeof beat === 'object' ? (beat as FeedHeartbeat) : null;
    } catch {
      return undefined;
    }
  }

  private noteHeartbeat(beat: FeedHeartbeat): void {
    const at = typeof beat.last_run_at === 'string' ? Date.parse(beat.last_run_at) : NaN;
    // A clock a little ahead on the feed's host must not make a run look like it happened in the future.
    if (Number.isFinite(at)) this.heartbeatRunAt = Math.max(this.heartbeatRunAt ?? 0, Math.min(at, Date.now()));
    if (typeof beat.interval_seconds === 'number' && Number.isFinite(beat.interval_seconds) && beat.interval_seconds > 0) {
      this.heartbeatInterval = beat.interval_seconds;
    }
  }

  /** READY_MAX_FEED_AGE, or 5 × the feed interval (the feed process's when its heartbeat says so), at least 30 s. */
  maxAgeSeconds(): number {
    const set = this.config.READY_MAX_FEED_AGE;
    if (set !== undefined && set !== null) return set;
    const interval = Math.max(this.config.REALTIME_UPDATE_INTERVAL, this.heartbeatInterval ?? 0);
    return Math.max(READY_MIN_FEED_AGE_S, round1(READY_FEED_AGE_INTERVALS * interval));
  }
}

/** What keeps the instance from being ready, e.g. `database down (timeout: no answer within 1500 ms)`; empty when ready. */
export function notReadyReasons(checks: ReadinessReport['checks']): string[] {
  const { database, redis, price_feed } = checks;
  const out: string[] = [];
  if (database.status !== 'up') out.push(`database down (${database.error ?? 'no answer'})`);
  if (redis !== 'not configured' && redis.status !== 'up') out.push(`redis down (${redis.error ?? 'no answer'})`);
  if (price_feed.status === 'stale') out.push(`price feed stale (${price_feed.error ?? 'no recent run'})`);
  return out;
}

/** What a failed readiness query says: the kind and the code, never the server's address or message. */
function describeDbError(err: unknown): string {
  if (err instanceof DatabaseUnavailableError) return `timeout: ${err.message}`;
  const kind = classifyDbError(err);
  const code = pgErrorCode(err);
  if (kind === 'timeout') return `timeout${code ? ` (${code})` : ''}`;
  if (kind === 'connection') return `connection failed${code ? ` (${code})` : ''}`;
  return `query failed${code ? ` (${code})` : ''}`;
}
