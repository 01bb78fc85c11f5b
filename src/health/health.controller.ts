import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { MessageBus } from '../bus/message-bus';
import { RedisLinkState } from '../bus/redis-link';

/**
 * Liveness: 503 when the database does not answer; 200 otherwise, with
 * `status: "degraded"` while the Redis link is down (the process serves, but
 * prices and portfolio changes from other processes do not arrive).
 */
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bus: MessageBus,
    private readonly redis: RedisLinkState,
  ) {}

  @Get()
  @HttpCode(200)
  async check() {
    const redis = this.redis.status();
    try {
      await this.db.query('SELECT 1');
    } catch {
      // The error filter keeps `message` and `details` of the body (one error shape for the whole API).
      throw new ServiceUnavailableException({
        message: 'Database unreachable',
        details: { status: 'error', database: 'down', bus: this.bus.kind, redis, timestamp: new Date().toISOString() },
      });
    }
    return { status: redis === 'down' ? 'degraded' : 'ok', database: 'up', bus: this.bus.kind, redis, timestamp: new Date().toISOString() };
  }
}
