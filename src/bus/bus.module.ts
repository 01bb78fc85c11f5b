import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { resolveBusSecret } from './bus-secret';
import { InProcessBus } from './in-process.bus';
import { MessageBus } from './message-bus';
import { RedisBus } from './redis.bus';
import { RedisLinkState } from './redis-link';
import { redisTlsOptions } from './redis-tls';

/**
 * MessageBus is Redis pub/sub when REDIS_URL is set (messages signed with BUS_SECRET and
 * checked on receipt, see redis.bus.ts), otherwise in-process.
 * RedisLinkState is the process's one view of its Redis link (every ioredis client
 * reports to it and takes its TLS options from it; GET /health reads it): "not configured" without REDIS_URL.
 */
@Global()
@Module({
  providers: [
    {
      provide: RedisLinkState,
      inject: [AppConfig],
      useFactory: (config: AppConfig): RedisLinkState =>
        new RedisLinkState(config.REDIS_URL, { tls: redisTlsOptions(config.REDIS_URL, config.REDIS_TLS_CA_FILE) }),
    },
    {
      provide: MessageBus,
      inject: [AppConfig, RedisLinkState],
      useFactory: (config: AppConfig, link: RedisLinkState): MessageBus =>
        config.REDIS_URL ? new RedisBus(config.REDIS_URL, config.REDIS_PREFIX, link, { secret: resolveBusSecret(config) }) : new InProcessBus(),
    },
  ],
  exports: [MessageBus, RedisLinkState],
})
export class BusModule {}
