import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Max, Min, MinLength, validateSync, ValidateBy } from 'class-validator';
import { CronTime } from 'cron';
import { redactUrl, StartupError } from '../common/startup-error';

// Reads the raw string (obj[key]): implicit conversion has already turned "false" into `true` in `value`.
const toBool = ({ value, obj, key }: { value: unknown; obj: Record<string, unknown>; key: string }) => {
  const raw = obj[key] ?? value;
  return typeof raw === 'string' ? ['1', 'true', 'yes', 'on'].includes(raw.toLowerCase()) : raw;
};

/** A URL whose scheme is one of `protocols` (e.g. postgres:, postgresql:), with a host. */
const IsUrlOf = (protocols: string[], example: string) =>
  ValidateBy({
    name: 'isUrlOf',
    validator: {
      validate: (value: unknown) => {
        if (typeof value !== 'string') return false;
        try {
          const u = new URL(value);
          return protocols.includes(u.protocol) && !!u.hostname;
        } catch {
          return false;
        }
      },
      defaultMessage: () => `must be a URL like ${example}`,
    },
  });

/**
 * Why `value` is not a cron expression the price feed can run on (undefined when it is one): six
 * fields, seconds first, that the `cron` package (the one @nestjs/schedule runs) accepts and that
 * fire at least once in the next years.
 */
function cronExpressionProblem(value: string): string | undefined {
  const expression = value.trim();
  const fields = expression.split(/\s+/).filter(Boolean).length;
  if (fields !== 6) return `it has ${fields} field${fields === 1 ? '' : 's'}`;
  const { valid, error } = CronTime.validateCronExpression(expression);
  if (!valid) return error?.message ?? 'not understood';
  try {
    new CronTime(expression, 'UTC').sendAt();
  } catch {
    return 'it never fires';
  }
  return undefined;
}

/** A 6-field cron expression with seconds (see cronExpressionProblem). */
const IsCronExpression = () =>
  ValidateBy({
    name: 'isCronExpression',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && cronExpressionProblem(value) === undefined,
      defaultMessage: (args) =>
        'must be a cron expression with seconds: 6 fields (second minute hour day-of-month month day-of-week, in UTC), e.g. "*/30 * * * * *" for every 30 seconds' +
        (typeof args?.value === 'string' ? ` (${cronExpressionProblem(args.value)})` : ''),
    },
  });

/** What a REDIS_URL looks like (named in the message when it does not). */
const REDIS_URL_FORM = 'redis://host:6379 (rediss:// for TLS, redis://user:password@host:6379 with a password)';

/**
 * Every setting the service reads, with its default. Validated once at boot;
 * a bad value stops the process with a message naming the variable.
 * `.env.example` documents each of these.
 */
export class EnvironmentVariables {
  /** development, production or test. Production requires SESSION_SECRET and creates no demo user unless asked. */
  @IsIn(['development', 'production', 'test']) NODE_ENV: 'development' | 'production' | 'test' = 'development';

  // --- HTTP ---
  /** HTTP port of the API (REST, pages, WebSocket and Socket.IO); 0 picks a free port. */
  @IsInt() @Min(0) @Max(65535) PORT: number = 8000;
  /** Address to listen on (0.0.0.0 in containers). */
  @IsString() HOST: string = '127.0.0.1';
  /** Express "trust proxy" setting: false, true, a hop count, or a list of addresses. */
  @IsString() TRUST_PROXY: string = 'false';
  /** Comma-separated exact origins (scheme://host:port) allowed to open sockets; the server's own host is always allowed. */
  @IsString() ALLOWED_ORIGINS: string = '';
  /** Bearer token (at least 16 characters) for the Prometheus metrics (GET /metrics of the API, and the feed process's listener): set, a scrape must send `Authorization: Bearer <token>` (401 otherwise; compared in constant time). Unset: /metrics is open, so keep it off the public side of the proxy. */
  @IsOptional() @IsString() @MinLength(16) METRICS_TOKEN?: string = undefined;

  // --- Storage ---
  /** PostgreSQL connection URL (postgres://user:password@host:5432/database), checked with one connection at start-up. Unset: the embedded PostgreSQL under DATA_DIR/postgres, shared by the API, the CLI commands and the feed process on this machine. */
  @IsOptional() @IsUrlOf(['postgres:', 'postgresql:'], 'postgres://user:password@host:5432/database') DATABASE_URL?: string = undefined;
  /** Folder for local state: the embedded PostgreSQL cluster (as root, a link to it under /var/lib/realtime-markets when the postgres user cannot reach this folder), its password, and the generated development secrets (session-secret, bus-secret). */
  @IsString() DATA_DIR: string = './data';
  /** Port of the embedded PostgreSQL when a process starts it (default: a free port; a running one keeps its port). */
  @IsOptional() @IsInt() @Min(1) @Max(65535) EMBEDDED_PG_PORT?: number = undefined;
  /** Connections in the TypeORM pool. */
  @IsInt() @Min(1) @Max(200) DB_POOL_SIZE: number = 10;
  /** Longest a SQL statement may run (ms; the server's statement_timeout on every connection of the app). The client stops waiting for an answer 1 s later (a frozen server or a dead network) and closes that connection; idle_in_transaction_session_timeout is twice this (at least 10 s). REST then answers 503, sockets SERVICE_UNAVAILABLE. Migrations use DB_MIGRATION_TIMEOUT_MS instead. */
  @IsInt() @Min(100) @Max(600000) DB_STATEMENT_TIMEOUT_MS: number = 5000;
  /** Longest wait (ms) to open a PostgreSQL connection, or to get a free one from a pool, before giving up (503 / SERVICE_UNAVAILABLE). */
  @IsInt() @Min(100) @Max(600000) DB_CONNECT_TIMEOUT_MS: number = 5000;
  /** Longest a statement of a migration may run (ms; server and client side, instead of DB_STATEMENT_TIMEOUT_MS, so long schema changes are not cut); 0 turns the limit off. */
  @IsInt() @Min(0) DB_MIGRATION_TIMEOUT_MS: number = 600000;
  /** Redis URL: redis://host:6379, redis://:password@host:6379 or redis://user:password@host:6379 with authentication, rediss://… for TLS. Set: prices, portfolio changes and logouts travel between processes and instances over Redis pub/sub (signed with BUS_SECRET), and latest prices are cached there. Required by the separate price-feed process. Only this deployment's processes may reach that Redis. */
  @IsOptional() @IsUrlOf(['redis:', 'rediss:'], REDIS_URL_FORM) REDIS_URL?: string = undefined;
  /** Prefix of every Redis key and pub/sub channel (lets several deployments or test runs share one Redis). */
  @IsString() REDIS_PREFIX: string = 'rm:';
  /** CA certificate file (PEM) trusted for a rediss:// server whose certificate a private CA signed; read at start-up. Unset: the system's CAs. */
  @IsOptional() @IsString() REDIS_TLS_CA_FILE?: string = undefined;
  /** Secret (at least 32 characters) signing every message on the Redis bus (HMAC-SHA256); the same in every API instance and the feed process. Used only with REDIS_URL; then required in production; in development one is generated into DATA_DIR/bus-secret, shared by the processes using that DATA_DIR. */
  @IsOptional() @IsString() @MinLength(32) BUS_SECRET?: string = undefined;

  // --- Sessions and users ---
  /** Secret signing the session cookie (at least 32 characters). Required in production; in development one is generated into DATA_DIR/session-secret. */
  @IsOptional() @IsString() @MinLength(32) SESSION_SECRET?: string = undefined;
  /** Session lifetime in seconds (cookie and store). */
  @IsInt() @Min(60) SESSION_MAX_AGE: number = 1209600;
  /** Password of the demo user `demo` (default demo-password outside production). */
  @IsOptional() @IsString() @MinLength(8) DEMO_PASSWORD?: string = undefined;
  /** Create the demo user and portfolio on an empty database (default: on outside production). */
  @IsOptional() @Transform(toBool) @IsBoolean() SEED_DEMO?: boolean = undefined;
  /** Failed logins allowed per IP+username within LOGIN_FAILURE_WINDOW seconds before POST /auth/login answers 429 (per IP: 10x this). */
  @IsInt() @Min(1) LOGIN_MAX_FAILURES: number = 10;
  /** Window (seconds) of the failed-login counter. */
  @IsInt() @Min(1) LOGIN_FAILURE_WINDOW: number = 900;

  // --- Realtime (the guide's names) ---
  /** Seconds between price-feed runs (the guide's setting; fractions allowed). */
  @IsNumber() @Min(0.05) REALTIME_UPDATE_INTERVAL: number = 30;
  /** Symbols fetched, validated and written per batch. */
  @IsInt() @Min(1) @Max(5000) REALTIME_BATCH_SIZE: number = 50;
  /** Seconds a latest price stays in the cache (memory and Redis). */
  @IsInt() @Min(1) REALTIME_CACHE_TIMEOUT: number = 300;
  /** Seconds a socket may stay silent (no pong) before it is terminated and its subscriptions released. */
  @IsInt() @Min(1) WEBSOCKET_TIMEOUT: number = 300;
  /** Seconds between server pings on every socket. */
  @IsInt() @Min(1) HEARTBEAT_INTERVAL: number = 25;
  /** Open sockets allowed per logged-in user (both transports together; with REDIS_URL, across all API instances). */
  @IsInt() @Min(1) MAX_CONNECTIONS_PER_USER: number = 5;
  /** With REDIS_URL: seconds after its last heartbeat (sent every third of this) that an API instance counts as gone; its connections then stop counting toward MAX_CONNECTIONS_PER_USER and /realtime/status/. */
  @IsInt() @Min(3) @Max(300) CLUSTER_INSTANCE_TTL: number = 15;
  /** Recent updates kept per symbol in each API instance's memory, for clients that resume after a reconnect (`since_seq`); 0 turns replay off. About 0.24 KB per update: 64 updates × 10,000 symbols ≈ 150 MB (`npm run bench`, docs/performance.md). */
  @IsInt() @Min(0) @Max(10000) REALTIME_HISTORY_SIZE: number = 64;
  /** Asset and portfolio subscriptions allowed per socket. */
  @IsInt() @Min(1) MAX_SUBSCRIPTIONS_PER_CONNECTION: number = 50;
  /** Inbound messages (ping frames included) per second per connection, sustained. */
  @IsNumber() @Min(1) WS_RATE_LIMIT: number = 20;
  /** Inbound messages a connection may send in a burst above WS_RATE_LIMIT. */
  @IsInt() @Min(1) WS_RATE_BURST: number = 40;
  /** Largest inbound frame in bytes; larger frames close the socket with 1009. */
  @IsInt() @Min(1024) WS_MAX_PAYLOAD: number = 65536;
  /** Outbound buffer (bytes) above which a connection is conflated (latest value per topic only). */
  @IsInt() @Min(1024) WS_BUFFER_HIGH_WATER: number = 262144;
  /** Outbound buffer (bytes) at which a stuck connection is closed with 1013. */
  @IsInt() @Min(1024) WS_BUFFER_HARD_LIMIT: number = 4194304;
  /** Seconds a conflated connection may stay above the high-water mark before it is closed. */
  @IsInt() @Min(1) WS_STALL_TIMEOUT: number = 30;
  /** Longest wait (ms) for the session lookup of a WebSocket / Socket.IO handshake carrying a session cookie; past it (or when the session store fails) the handshake is refused with 503 SERVICE_UNAVAILABLE rather than continued as anonymous. */
  @IsInt() @Min(100) @Max(60000) WS_AUTH_TIMEOUT_MS: number = 3000;
  /** Seconds a new socket may stay without sending one valid message (and without subscribing) before it is closed (raw WebSocket: 1008 `IDLE_TIMEOUT`); 0 turns it off. */
  @IsInt() @Min(0) WS_IDLE_TIMEOUT: number = 10;
  /** Invalid messages (INVALID_JSON, VALIDATION_FAILED, UNKNOWN_TYPE) a socket may send per minute: each gets its error reply, the last one is followed by a close (raw WebSocket: 1008 `PROTOCOL_ERRORS`). */
  @IsInt() @Min(1) WS_MAX_PROTOCOL_ERRORS: number = 20;

  // --- Price feed ---
  /** inprocess: the API runs the feed; external: a separate price-feed process feeds it through Redis; off: no feed. */
  @IsIn(['inprocess', 'external', 'off']) PRICE_FEED_MODE: 'inprocess' | 'external' | 'off' = 'inprocess';
  /** Port on which the separate price-feed process serves its Prometheus metrics (GET /metrics on HOST, with METRICS_TOKEN like the API's). Unset: no listener (with PRICE_FEED_MODE=inprocess the feed's metrics are in the API's /metrics). */
  @IsOptional() @IsInt() @Min(1) @Max(65535) FEED_METRICS_PORT?: number = undefined;
  /** Cron expression of the feed's batch job `price-feed-batch`: 6 fields with seconds (second minute hour day-of-month month day-of-week), in UTC, e.g. `0 * * * * *` for the start of every minute. Unset: derived from REALTIME_UPDATE_INTERVAL (30 fires at :00 and :30 of every minute, 120 every second minute); an interval no cron expression fires at evenly (below 1 s, fractional, or not dividing a minute, an hour or a day) runs on a fixed-rate timer instead. The feed process's --interval flag wins over this setting. */
  @IsOptional() @IsCronExpression() PRICE_FEED_CRON?: string = undefined;
  /** Provider chains per asset type, e.g. `stocks=yahoo,alphavantage;crypto=coingecko;*=simulated`. */
  @IsString() PRICE_PROVIDERS: string = '*=simulated';
  /** Seed of the simulated market (same seed, same prices). */
  @IsInt() SIMULATED_SEED: number = 42;
  /** Relative jump (0.25 = 25%) above which a quote needs confirmation by the next fetch. */
  @IsNumber() @Min(0) PRICE_JUMP_THRESHOLD: number = 0.25;
  /** Timeout of one vendor HTTP request (ms). */
  @IsInt() @Min(100) VENDOR_TIMEOUT_MS: number = 5000;
  /** Yahoo Finance base URL. */
  @IsString() YAHOO_BASE_URL: string = 'https://query1.finance.yahoo.com';
  /** Alpha Vantage base URL. */
  @IsString() ALPHAVANTAGE_BASE_URL: string = 'https://www.alphavantage.co';
  /** Alpha Vantage API key (the provider is skipped without one). */
  @IsOptional() @IsString() ALPHAVANTAGE_API_KEY?: string = undefined;
  /** Alpha Vantage request budget per minute. */
  @IsInt() @Min(1) ALPHAVANTAGE_RATE_PER_MINUTE: number = 5;
  /** Alpha Vantage request budget per day (25 on the free plan). */
  @IsInt() @Min(1) ALPHAVANTAGE_RATE_PER_DAY: number = 25;
  /** CoinGecko base URL. */
  @IsString() COINGECKO_BASE_URL: string = 'https://api.coingecko.com';
  /** CoinGecko API key (optional; sent as x-cg-demo-api-key). */
  @IsOptional() @IsString() COINGECKO_API_KEY?: string = undefined;
  /** CSV (timestamp,symbol,price,volume) played by the replay provider. */
  @IsOptional() @IsString() REPLAY_FILE?: string = undefined;
  /** Replay speed factor (1 = real time, 60 = a minute per second). */
  @IsNumber() @Min(0.01) REPLAY_SPEED: number = 1;
  /** Yahoo Finance request budget (token buckets per minute and per day; Yahoo publishes no quota, stay polite). */
  @IsInt() @Min(1) YAHOO_RATE_PER_MINUTE: number = 60;
  /** Yahoo Finance request budget per day. */
  @IsInt() @Min(1) YAHOO_RATE_PER_DAY: number = 20000;
  /** CoinGecko request budget (the free demo plan allows about 30 calls a minute and 10,000 a month). */
  @IsInt() @Min(1) COINGECKO_RATE_PER_MINUTE: number = 30;
  /** CoinGecko request budget per day. */
  @IsInt() @Min(1) COINGECKO_RATE_PER_DAY: number = 330;
  /** Retries of a failed vendor request (5xx, network error, timeout) before the next provider in the chain serves. */
  @IsInt() @Min(0) @Max(10) VENDOR_RETRIES: number = 2;
  /** Consecutive vendor failures that open its circuit breaker. */
  @IsInt() @Min(1) VENDOR_BREAKER_THRESHOLD: number = 5;
  /** Milliseconds an open circuit breaker waits before a trial request. */
  @IsInt() @Min(10) VENDOR_BREAKER_COOLDOWN_MS: number = 30000;
  /** Feed cycles in a row in which no provider quoted a symbol before the feed calls it quiet (`status` reason `no_quotes` to its subscribers, until a quote arrives). A symbol whose whole provider chain has its circuit breaker open is quiet at once (`vendor_unavailable`). */
  @IsInt() @Min(1) @Max(1000) FEED_STALE_CYCLES: number = 3;
  /** Seconds between repeats of the feed's quiet set on the Redis bus (`feed.status`), so an API instance started during an outage learns it; also the longest an instance that missed a change keeps the old state. */
  @IsInt() @Min(1) @Max(3600) FEED_STATUS_REPEAT_SECONDS: number = 30;
  /** Days of daily ('1d') history the feed backfills for assets that have none (at start-up and by the nightly job); 0 turns it off. */
  @IsInt() @Min(0) @Max(3650) PRICE_BACKFILL_DAYS: number = 30;
  /** POST /api/realtime/force_price_update/ calls allowed per user per minute. */
  @IsInt() @Min(1) FORCE_UPDATE_RATE_PER_MINUTE: number = 6;
  /** Days of 'tick' rows kept in price_history (the nightly job deletes older ones; daily '1d' rows are kept). */
  @IsInt() @Min(1) PRICE_TICK_RETENTION_DAYS: number = 7;
  /** Seconds since the price feed's last completed run (this process's, or the feed heartbeat in Redis) after which GET /health/ready answers 503 (`price_feed: stale`); a feed that has not run yet gets this long after start-up. Unset: 5 × REALTIME_UPDATE_INTERVAL (the feed process's interval when it says so), at least 30. 0 turns the feed check off; so does PRICE_FEED_MODE=off. */
  @IsOptional() @IsNumber() @Min(0) READY_MAX_FEED_AGE?: number = undefined;

  // --- Portfolios ---
  /** Days of the portfolios' intraday value series kept (portfolio_value_points: a point per PORTFOLIO_INTRADAY_INTERVAL while the value moves, read by GET /api/portfolios/{id}/history?range=1d and `subscribe_portfolio` with `series`); older points are pruned every hour. */
  @IsInt() @Min(1) @Max(3650) PORTFOLIO_INTRADAY_DAYS: number = 7;
  /** Seconds between points of the intraday value series (fractions allowed): each API instance values every portfolio this often and records a point, stamped with the start of the interval (UTC), when its total value moved since the last one; instances recording the same interval keep one point. Leave at 60 (a point per minute) outside tests. */
  @IsNumber() @Min(0.05) @Max(3600) PORTFOLIO_INTRADAY_INTERVAL: number = 60;

  // --- Logs ---
  /** Lowest log level printed: error, warn, log, debug or verbose. */
  @IsIn(['error', 'warn', 'log', 'debug', 'verbose']) LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';
  /** text for people, json for log shippers (one JSON object per line: level, time, context, msg, and req_id / connection_id where they apply). Unset: json when NODE_ENV=production, text otherwise. */
  @IsOptional() @IsIn(['text', 'json']) LOG_FORMAT?: 'text' | 'json' = undefined;
  /** File to which every log line is also appended, as JSON lines whatever LOG_FORMAT (its folder is created; checked at start-up). Reopened on SIGHUP, so logrotate can rename it and signal the process. Unset: stdout only. */
  @IsOptional() @IsString() LOG_FILE?: string = undefined;
}

/** A bad setting: its message names every bad variable and how to fix it (printed without a stack). */
export class ConfigValidationError extends StartupError {}

/** How a rejected value is echoed: secrets never, URLs without their password. */
function shown(key: string, value: string | undefined): string {
  if (value === undefined) return '(unset)';
  if (/SECRET|PASSWORD|TOKEN|API_KEY/.test(key)) return '(hidden)';
  if (/_URL$/.test(key)) return JSON.stringify(redactUrl(value));
  return JSON.stringify(value);
}

/** Parses and validates an environment; throws one error naming every bad variable. */
export function validateEnv(raw: Record<string, string | undefined>): EnvironmentVariables {
  const cleaned: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const env = plainToInstance(EnvironmentVariables, cleaned, {
    enableImplicitConversion: true,
    excludeExtraneousValues: false,
  });
  const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.property}=${shown(e.property, raw[e.property])}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new ConfigValidationError(`Invalid configuration (fix these in the environment or in .env; .env.example lists every setting):\n${lines.join('\n')}`);
  }
  const missing: string[] = [];
  if (env.NODE_ENV === 'production' && !env.SESSION_SECRET) missing.push('  SESSION_SECRET is required when NODE_ENV=production (at least 32 characters)');
  if (env.NODE_ENV === 'production' && env.REDIS_URL && !env.BUS_SECRET) {
    missing.push(
      '  BUS_SECRET is required when NODE_ENV=production and REDIS_URL is set (at least 32 characters, the same in every API instance and the price-feed process)',
    );
  }
  if (missing.length > 0) throw new ConfigValidationError(`Invalid configuration:\n${missing.join('\n')}`);
  // Keep only the declared settings (the instance also received every other env var); optional
  // settings are initialised to undefined, so every setting is an own key of a fresh instance.
  const declared = new EnvironmentVariables();
  for (const key of Object.keys(declared) as (keyof EnvironmentVariables)[]) {
    (declared as unknown as Record<string, unknown>)[key] = env[key];
  }
  return declared;
}
