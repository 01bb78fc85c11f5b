import { HttpException, HttpStatus, Injectable, Logger } from '@nestjs/common';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { D } from '../../common/decimal';
import { toNumber } from '../../common/decimal';
import { AppConfig } from '../../config/app-config';
import { PricePipeline, SymbolResult } from '../pipeline/price-pipeline.service';
import { PriceFeedRedis } from '../redis/price-feed-redis.service';
import type { ForceUpdateItem, ForceUpdateResponse, ForceUpdateStatus } from '../../common/api-types';

/** The REST shapes live in src/common/api-types.ts (shared with the client and the pages). */
export type { ForceUpdateItem, ForceUpdateResponse, ForceUpdateStatus } from '../../common/api-types';

const STATUS: Record<SymbolResult['status'], ForceUpdateStatus> = {
  updated: 'updated',
  valid: 'updated',
  unchanged: 'unchanged',
  unknown: 'unknown',
  rejected: 'rejected',
  unpriced: 'unavailable',
  failed: 'failed',
};

/**
 * Runs the feed's pipeline now for the symbols a logged-in user asks for
 * (throttled per user: FORCE_UPDATE_RATE_PER_MINUTE, shared across API
 * instances through Redis when it is configured). Subscribers get the new
 * prices through the bus like any batch.
 */
@Injectable()
export class ForceUpdateService {
  private readonly logger = new Logger('ForceUpdate');
  private readonly limiter: RateLimiterAbstract;

  constructor(
    private readonly pipeline: PricePipeline,
    config: AppConfig,
    redis: PriceFeedRedis,
  ) {
    const points = config.FORCE_UPDATE_RATE_PER_MINUTE;
    this.limiter = redis.client
      ? new RateLimiterRedis({
          storeClient: redis.client,
          keyPrefix: redis.key('force-update'),
          points,
          duration: 60,
          insuranceLimiter: new RateLimiterMemory({ points, duration: 60 }),
        })
      : new RateLimiterMemory({ points, duration: 60, keyPrefix: 'force-update' });
  }

  async forceUpdate(userId: number, symbols: string[]): Promise<ForceUpdateResponse> {
    try {
      await this.limiter.consume(String(userId));
    } catch (rej) {
      if (!(rej instanceof RateLimiterRes)) throw rej;
      const retryAfter = Math.ceil(rej.msBeforeNext / 1000);
      throw new HttpException(
        { message: `Too many forced price updates: try again in ${retryAfter} s`, details: { retry_after: retryAfter } },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    const unique = [...new Set(symbols)];
    const report = await this.pipeline.runBatch(unique, { origin: `force-update:user:${userId}` });
    this.logger.log(`User ${userId} forced an update of ${unique.length} symbol(s): ${report.committed.length} updated`);
    const results = report.results.map(toItem);
    return { results, updated: results.filter((r) => r.status === 'updated').length, timestamp: new Date().toISOString() };
  }
}

function toItem(r: SymbolResult): ForceUpdateItem {
  const status = STATUS[r.status];
  const item: ForceUpdateItem = { symbol: r.symbol, status };
  if (status === 'unknown') return { ...item, message: 'Unknown symbol' };
  if (r.price !== null) {
    const price = new D(r.price);
    item.price = toNumber(price);
    item.previous_close = r.previous_close === null ? null : toNumber(new D(r.previous_close));
    if (r.previous_close !== null && new D(r.previous_close).gt(0)) {
      const change = price.minus(r.previous_close);
      item.change = toNumber(change);
      item.change_percent = toNumber(change.div(r.previous_close).mul(100), 4);
    } else {
      item.change = null;
      item.change_percent = null;
    }
  }
  item.source = r.source;
  if (status === 'rejected') Object.assign(item, { reason: r.reason, message: r.detail });
  if (status === 'unavailable' || status === 'failed') item.message = r.detail ?? 'no provider could price it; the last price is kept';
  return item;
}
