import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InProcessBus } from './in-process.bus';
import { MessageBus } from './message-bus';
import { RedisBus } from './redis.bus';
import { RedisLinkState } from './redis-link';

/**
 * MessageBus is Redis pub/sub when REDIS_URL is set, otherwise in-process.
 * RedisLinkState is the process's one view of its Redis link (every ioredis client
 * reports to it; GET /health reads it): "not configured" without REDIS_URL.
 */
@Global()
@Module({
  providers: [
    {
      provide: RedisLinkState,
      inject: [AppConfig],
      useFactory: (config: AppConfig): RedisLinkState => new RedisLinkState(config.REDIS_URL),
    },
    {
      provide: MessageBus,
      inject: [AppConfig, RedisLinkState],
      useFactory: (config: AppConfig, link: RedisLinkState): MessageBus =>
        config.REDIS_URL ? new RedisBus(config.REDIS_URL, config.REDIS_PREFIX, link) : new InProcessBus(),
    },
  ],
  exports: [MessageBus, RedisLinkState],
})
export class BusModule {}
