import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../../config/app-config';

/**
 * The price feed's own Redis connection (cache keys, shared vendor rate limits,
 * feed heartbeat), present only when REDIS_URL is set. Pub/sub stays on the MessageBus.
 */
@Injectable()
export class PriceFeedRedis implements OnApplicationShutdown {
  private readonly logger = new Logger('PriceFeedRedis');
  readonly client?: Redis;
  readonly prefix: string;

  constructor(config: AppConfig) {
    this.prefix = config.REDIS_PREFIX;
    if (config.REDIS_URL) {
      this.client = new Redis(config.REDIS_URL, {
        connectionName: 'rm-price-feed',
        maxRetriesPerRequest: 1,
        enableOfflineQueue: true,
      });
      this.client.on('error', (err: Error) => this.logger.warn(`Redis: ${err.message}`));
    }
  }

  key(name: string): string {
    return this.prefix + name;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client) await this.client.quit().catch(() => this.client?.disconnect());
  }
}
