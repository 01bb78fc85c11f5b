import { hostname } from 'node:os';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { LatestPriceCache } from '../cache/latest-price.cache';
import { ProviderRouter } from '../providers/provider-router.service';
import { PriceFeedRedis } from '../redis/price-feed-redis.service';
import type { FeedHeartbeat, FeedRole, PriceFeedStatusSnapshot } from '../../common/api-types';

/** The shapes /realtime/status/ shows live in src/common/api-types.ts (shared with the client and the pages). */
export type { FeedHeartbeat, FeedRole, PriceFeedStatusSnapshot } from '../../common/api-types';

/** Counters the scheduler updates and the status endpoint reads. */
@Injectable()
export class PriceFeedStatus {
  mode: string;
  role: FeedRole = 'disabled';
  intervalSeconds: number;
  batchSize: number;
  lastRunAt: Date | null = null;
  lastRunMs: number | null = null;
  runs = 0;
  skippedRuns = 0;
  failedBatches = 0;
  rejectedQuotes = 0;
  carriedQuotes = 0;
  lastError: string | null = null;

  constructor(
    config: AppConfig,
    private readonly cache: LatestPriceCache,
    private readonly router: ProviderRouter,
    private readonly redis: PriceFeedRedis,
  ) {
    this.mode = config.PRICE_FEED_MODE;
    this.intervalSeconds = config.REALTIME_UPDATE_INTERVAL;
    this.batchSize = config.REALTIME_BATCH_SIZE;
  }

  static readonly HEARTBEAT_KEY = 'price-feed:heartbeat';

  heartbeat(): FeedHeartbeat {
    return {
      host: hostname(),
      pid: process.pid,
      role: this.role,
      last_run_at: this.lastRunAt?.toISOString() ?? null,
      interval_seconds: this.intervalSeconds,
      batch_size: this.batchSize,
    };
  }

  /** Publishes this feed's heartbeat to Redis (expires after a few intervals). */
  async beat(): Promise<void> {
    if (!this.redis.client) return;
    const ttl = Math.max(10, Math.ceil(this.intervalSeconds * 5));
    await this.redis.client.set(this.redis.key(PriceFeedStatus.HEARTBEAT_KEY), JSON.stringify(this.heartbeat()), 'EX', ttl).catch(() => undefined);
  }

  async readExternalHeartbeat(): Promise<FeedHeartbeat | null> {
    if (!this.redis.client) return null;
    try {
      const raw = await this.redis.client.get(this.redis.key(PriceFeedStatus.HEARTBEAT_KEY));
      return raw ? (JSON.parse(raw) as FeedHeartbeat) : null;
    } catch {
      return null;
    }
  }

  async snapshot(): Promise<PriceFeedStatusSnapshot> {
    const local = this.role === 'leader' || this.role === 'standby';
    const external = local ? null : await this.readExternalHeartbeat();
    const freshMs = Math.max(10_000, this.intervalSeconds * 3000);
    const running =
      (this.role === 'leader' && !!this.lastRunAt && Date.now() - this.lastRunAt.getTime() < freshMs) ||
      (external?.role === 'leader' &&
        !!external.last_run_at &&
        Date.now() - Date.parse(external.last_run_at) < Math.max(10_000, external.interval_seconds * 3000));
    return {
      mode: this.mode,
      price_feed_running: running,
      role: this.role,
      interval_seconds: this.intervalSeconds,
      batch_size: this.batchSize,
      last_run_at: this.lastRunAt?.toISOString() ?? null,
      last_run_ms: this.lastRunMs,
      runs: this.runs,
      skipped_runs: this.skippedRuns,
      failed_batches: this.failedBatches,
      rejected_quotes: this.rejectedQuotes,
      carried_quotes: this.carriedQuotes,
      last_error: this.lastError,
      external_feed: external,
      cache: this.cache.summary(),
      vendors: this.router.vendorStates(),
    };
  }
}
