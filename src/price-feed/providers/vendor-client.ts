import { Logger } from '@nestjs/common';
import {
  circuitBreaker,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  isBrokenCircuitError,
  IPolicy,
  retry,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import type { Redis } from 'ioredis';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { feedMetrics } from '../metrics';
import {
  VendorCircuitOpenError,
  VendorError,
  VendorFormatError,
  VendorQuotaError,
  VendorRateLimitedError,
  VendorRequestError,
  VendorUnavailableError,
} from './vendor.errors';

export interface VendorClientOptions {
  timeoutMs: number;
  retries: number;
  breakerThreshold: number;
  breakerCooldownMs: number;
  perMinute: number;
  perDay: number;
  /** Shared token buckets across processes when set. */
  redis?: Redis;
  redisPrefix?: string;
  /** First retry delay (ms); doubles up to 2 s. */
  retryDelayMs?: number;
}

export interface VendorResponse {
  status: number;
  body: unknown;
}

/** cockatiel 3.2's isTaskCancelledError tests the wrong marker property; check the class instead. */
const isTimeout = (e: unknown): boolean => e instanceof TaskCancelledError;

export type BreakerStateName = 'closed' | 'open' | 'half-open' | 'isolated';

const STATE_NAMES: Record<CircuitState, BreakerStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * HTTP to one vendor through Node's fetch, wrapped in: token buckets per minute
 * and per day (rate-limiter-flexible, in Redis when available), a circuit breaker,
 * retries with exponential backoff for transient failures, and a per-request
 * timeout (cockatiel). Classifies every failure as a VendorError.
 */
export class VendorClient {
  private readonly logger: Logger;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly policy: IPolicy<{ signal: AbortSignal }>;
  private readonly perMinute: RateLimiterAbstract;
  private readonly perDay: RateLimiterAbstract;
  /** Told when the breaker opens (again, after a failed trial) or closes. */
  private readonly breakerListeners = new Set<(state: 'open' | 'closed') => void>();
  lastError: string | null = null;

  constructor(
    readonly vendor: string,
    private readonly opts: VendorClientOptions,
  ) {
    this.logger = new Logger(`Vendor:${vendor}`);
    this.breaker = circuitBreaker(
      handleWhen((e) => !(e instanceof VendorError) || e.countsForBreaker),
      { halfOpenAfter: opts.breakerCooldownMs, breaker: new ConsecutiveBreaker(opts.breakerThreshold) },
    );
    this.breaker.onBreak(() => {
      this.logger.warn(`circuit breaker opened (${opts.breakerThreshold} consecutive failures)`);
      this.tellBreaker('open');
    });
    this.breaker.onHalfOpen(() => this.logger.log('circuit breaker half-open: trying one request'));
    this.breaker.onReset(() => {
      this.logger.log('circuit breaker closed again');
      this.tellBreaker('closed');
    });
    const retryPolicy = retry(
      handleWhen((e) => (e instanceof VendorError ? e.transient : isTimeout(e))),
      {
        maxAttempts: opts.retries,
        backoff: new ExponentialBackoff({ initialDelay: opts.retryDelayMs ?? 100, maxDelay: 2000 }),
      },
    );
    retryPolicy.onRetry((r) => this.logger.debug(`retrying after ${'error' in r ? r.error.message : 'bad result'} (in ${Math.round(r.delay)} ms)`));
    this.policy = wrap(retryPolicy, this.breaker, timeout(opts.timeoutMs, TimeoutStrategy.Aggressive));
    const mk = (points: number, duration: number, suffix: string): RateLimiterAbstract =>
      opts.redis
        ? new RateLimiterRedis({
            storeClient: opts.redis,
            keyPrefix: `${opts.redisPrefix ?? 'rm:'}vendor-rate:${vendor}:${suffix}`,
            points,
            duration,
            insuranceLimiter: new RateLimiterMemory({ points, duration }),
          })
        : new RateLimiterMemory({ points, duration, keyPrefix: `${vendor}:${suffix}` });
    this.perMinute = mk(opts.perMinute, 60, 'minute');
    this.perDay = mk(opts.perDay, 86_400, 'day');
  }

  get breakerState(): BreakerStateName {
    return STATE_NAMES[this.breaker.state];
  }

  /** `fn` runs when the breaker opens (also again after a failed half-open trial) or closes; returns the unsubscribe function. */
  onBreakerChange(fn: (state: 'open' | 'closed') => void): () => void {
    this.breakerListeners.add(fn);
    return () => this.breakerListeners.delete(fn);
  }

  private tellBreaker(state: 'open' | 'closed'): void {
    for (const fn of this.breakerListeners) {
      try {
        fn(state);
      } catch (err) {
        this.logger.error(`Breaker listener failed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * GET a JSON document. Statuses listed in `acceptStatus` (besides 2xx) are
   * returned to the adapter, which knows what the vendor means by them.
   */
  async getJson(url: URL, init: { headers?: Record<string, string>; acceptStatus?: number[] } = {}): Promise<VendorResponse> {
    try {
      const res = await this.policy.execute(({ signal }) => this.once(url, init, signal));
      feedMetrics.vendorRequests.inc({ vendor: this.vendor, outcome: 'ok' });
      this.lastError = null;
      return res;
    } catch (err) {
      const e = this.classify(err);
      feedMetrics.vendorRequests.inc({ vendor: this.vendor, outcome: e.constructor.name });
      this.lastError = e.message;
      throw e;
    }
  }

  private classify(err: unknown): VendorError {
    if (err instanceof VendorError) return err;
    if (isBrokenCircuitError(err)) return new VendorCircuitOpenError(this.vendor);
    if (isTimeout(err)) return new VendorUnavailableError(this.vendor, `no answer within ${this.opts.timeoutMs} ms`);
    return new VendorUnavailableError(this.vendor, (err as Error)?.message ?? String(err));
  }

  private async take(): Promise<void> {
    for (const limiter of [this.perMinute, this.perDay]) {
      try {
        await limiter.consume(this.vendor, 1);
      } catch (rej) {
        if (rej instanceof RateLimiterRes) throw new VendorRateLimitedError(this.vendor, rej.msBeforeNext);
        throw rej;
      }
    }
  }

  private async once(url: URL, init: { headers?: Record<string, string>; acceptStatus?: number[] }, signal: AbortSignal): Promise<VendorResponse> {
    await this.take();
    let res: Response;
    try {
      res = await fetch(url, {
        signal,
        headers: { accept: 'application/json', 'user-agent': 'realtime-markets/0.1 (+price-feed)', ...init.headers },
      });
    } catch (err) {
      if (signal.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new VendorUnavailableError(this.vendor, `request failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    if (res.status === 429) throw new VendorQuotaError(this.vendor, `HTTP 429 ${snippet(text)}`);
    if (res.status >= 500) throw new VendorUnavailableError(this.vendor, `HTTP ${res.status} ${snippet(text)}`, res.status);
    const accepted = (res.status >= 200 && res.status < 300) || init.acceptStatus?.includes(res.status);
    if (!accepted) throw new VendorRequestError(this.vendor, `HTTP ${res.status} ${snippet(text)}`, res.status);
    try {
      return { status: res.status, body: JSON.parse(text) as unknown };
    } catch {
      throw new VendorFormatError(this.vendor, `answer is not JSON: ${snippet(text)}`);
    }
  }
}

function snippet(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 160 ? `${t.slice(0, 160)}…` : t;
}
