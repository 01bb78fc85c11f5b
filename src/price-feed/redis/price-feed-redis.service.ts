import { Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { closeRedisClient, createRedisClient } from '../../bus/redis-connection';
import { RedisLinkState } from '../../bus/redis-link';
import { AppConfig } from '../../config/app-config';

/**
 * The price feed's own Redis connection (cache keys, shared vendor rate limits,
 * feed heartbeat), present only when REDIS_URL is set. Pub/sub stays on the MessageBus.
 * Built by createRedisClient: it reports to the process's RedisLinkState (one warning
 * per outage for the whole link) and fails fast while the link is down.
 */
@Injectable()
export class PriceFeedRedis implements OnApplicationShutdown {
  readonly client?: Redis;
  readonly prefix: string;
  private readonly link: RedisLinkState;

  constructor(config: AppConfig, @Optional() link?: RedisLinkState) {
    this.prefix = config.REDIS_PREFIX;
    this.link = link ?? new RedisLinkState(config.REDIS_URL);
    if (config.REDIS_URL) {
      this.client = createRedisClient(config.REDIS_URL, this.link, { name: 'rm-price-feed', maxRetriesPerRequest: 1 });
    }
  }

  key(name: string): string {
    return this.prefix + name;
  }

  /** True while the client is connected: callers with another source (the database) skip Redis otherwise. */
  get usable(): boolean {
    return !!this.client && this.link.isUp(this.client);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client) await closeRedisClient(this.link, this.client);
  }
}
