/** OpenAPI schemas of GET /health and GET /health/ready (their bodies: HealthLiveJson in src/common/api-types.ts, ReadinessReport). */
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiSchema, getSchemaPath } from '@nestjs/swagger';
import type { HealthLiveJson } from '../common/api-types';
import { ApiDateTime, enumOf } from '../common/openapi';
import type { AssertTrue, StrictSame } from '../common/type-checks';
import type { DatabaseCheck, FeedCheck, FeedCheckStatus, ReadinessReport, RedisCheck } from './readiness.service';

type Checks = ReadinessReport['checks'];

@ApiSchema({ name: 'HealthLive', description: 'Liveness: the process answers (no database or Redis call).' })
export class HealthLiveDto implements HealthLiveJson {
  @ApiProperty({ enum: enumOf<HealthLiveJson['status']>({ ok: true, degraded: true }), description: '`degraded` while the Redis link is down (still 200).' })
  status: 'ok' | 'degraded';

  @ApiProperty({ enum: enumOf<HealthLiveJson['bus']>({ memory: true, redis: true }), description: '`redis` with REDIS_URL, else `memory`.' })
  bus: 'memory' | 'redis';

  @ApiProperty({ enum: enumOf<HealthLiveJson['redis']>({ up: true, down: true, 'not configured': true }) })
  redis: 'up' | 'down' | 'not configured';

  @ApiProperty({ type: 'integer', example: 3600 })
  uptime_s: number;

  @ApiDateTime()
  timestamp: string;
}

@ApiSchema({ name: 'DatabaseCheck' })
export class DatabaseCheckDto implements DatabaseCheck {
  @ApiProperty({ enum: enumOf<DatabaseCheck['status']>({ up: true, down: true }) }) status: 'up' | 'down';
  @ApiProperty({ type: 'number', example: 1.2 }) latency_ms: number;
  @ApiPropertyOptional() error?: string;
}

@ApiSchema({ name: 'RedisCheck' })
export class RedisCheckDto implements RedisCheck {
  @ApiProperty({ enum: enumOf<RedisCheck['status']>({ up: true, down: true }) }) status: 'up' | 'down';
  @ApiProperty({ type: 'number', nullable: true, example: 0.4 }) latency_ms: number | null;
  @ApiPropertyOptional() error?: string;
}

@ApiSchema({ name: 'FeedCheck' })
export class FeedCheckDto implements FeedCheck {
  @ApiProperty({
    enum: enumOf<FeedCheckStatus>({ fresh: true, starting: true, stale: true, off: true, 'not checked': true, unknown: true }),
    description: '`stale` fails readiness; see docs/operations.md, "Probes".',
  })
  status: FeedCheckStatus;
  @ApiProperty({ example: 'inprocess' }) mode: string;
  @ApiProperty({ enum: ['local', 'heartbeat'], nullable: true }) source: 'local' | 'heartbeat' | null;
  @ApiDateTime({ nullable: true }) last_run_at: string | null;
  @ApiProperty({ type: 'number', nullable: true, example: 12.5 }) age_s: number | null;
  @ApiProperty({ type: 'number', nullable: true, example: 150 }) max_age_s: number | null;
  @ApiPropertyOptional() error?: string;
}

@ApiSchema({ name: 'ReadinessChecks' })
@ApiExtraModels(RedisCheckDto)
export class ReadinessChecksDto {
  @ApiProperty({ type: () => DatabaseCheckDto }) database: DatabaseCheckDto;
  @ApiProperty({
    oneOf: [{ $ref: getSchemaPath(RedisCheckDto) }, { type: 'string', enum: ['not configured'] }],
    description: '`not configured` without REDIS_URL.',
  })
  redis: RedisCheckDto | 'not configured';
  @ApiProperty({ type: () => FeedCheckDto }) price_feed: FeedCheckDto;
}

@ApiSchema({ name: 'Readiness', description: 'Readiness: database, Redis and price-feed freshness. A 503 carries the same object in `details`.' })
export class ReadinessDto implements ReadinessReport {
  @ApiProperty({ enum: ['ready'], description: '`ready` (with 200; `not_ready` comes as a 503 error whose `details` has this shape).' })
  status: 'ready' | 'not_ready';
  @ApiProperty({ type: () => ReadinessChecksDto }) checks: ReadinessChecksDto;
  @ApiDateTime() timestamp: string;
}

export type _HealthDtosFit = [
  AssertTrue<StrictSame<HealthLiveJson, HealthLiveDto>>,
  AssertTrue<StrictSame<DatabaseCheck, DatabaseCheckDto>>,
  AssertTrue<StrictSame<RedisCheck, RedisCheckDto>>,
  AssertTrue<StrictSame<FeedCheck, FeedCheckDto>>,
  AssertTrue<StrictSame<Checks, ReadinessChecksDto>>,
  AssertTrue<StrictSame<ReadinessReport, ReadinessDto>>,
];
