import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { PriceFeedRedis } from '../redis/price-feed-redis.service';
import { VendorClient } from './vendor-client';

/** Builds each vendor's resilient HTTP client from the settings (one per vendor and process). */
@Injectable()
export class VendorClientFactory {
  readonly clients = new Map<string, VendorClient>();

  constructor(
    private readonly config: AppConfig,
    private readonly redis: PriceFeedRedis,
  ) {}

  create(vendor: string, limits: { perMinute: number; perDay: number }): VendorClient {
    const c = new VendorClient(vendor, {
      timeoutMs: this.config.VENDOR_TIMEOUT_MS,
      retries: this.config.VENDOR_RETRIES,
      breakerThreshold: this.config.VENDOR_BREAKER_THRESHOLD,
      breakerCooldownMs: this.config.VENDOR_BREAKER_COOLDOWN_MS,
      perMinute: limits.perMinute,
      perDay: limits.perDay,
      redis: this.redis.client,
      redisPrefix: this.redis.prefix,
    });
    this.clients.set(vendor, c);
    return c;
  }
}
