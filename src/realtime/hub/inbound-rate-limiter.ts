import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export type Admission = { ok: true } | { ok: false; retryAfterMs: number; abusive: boolean };

/** Seconds over which WS_RATE_BURST extra messages may be spent, and the rejection window for abuse. */
export const BURST_WINDOW_SECONDS = 10;

/**
 * Inbound message rate per connection (rate-limiter-flexible, in memory):
 * `rate` messages per second sustained plus `burst` extra per 10 s. Messages
 * over the limit are refused; more than `burst` refusals within 10 s mark the
 * connection as abusive (the hub then closes it with 1008).
 */
export class InboundRateLimiter {
  private readonly limiter: BurstyRateLimiter;
  private readonly main: RateLimiterMemory;
  private readonly extra: RateLimiterMemory;
  private readonly strikes: RateLimiterMemory;

  constructor(rate: number, burst: number) {
    // Fixed windows need whole points: a fractional rate gets a 10-second window.
    const whole = Number.isInteger(rate);
    this.main = new RateLimiterMemory({ keyPrefix: 'ws-rate', points: whole ? rate : Math.max(1, Math.round(rate * 10)), duration: whole ? 1 : 10 });
    this.extra = new RateLimiterMemory({ keyPrefix: 'ws-burst', points: burst, duration: BURST_WINDOW_SECONDS });
    this.limiter = new BurstyRateLimiter(this.main, this.extra);
    this.strikes = new RateLimiterMemory({ keyPrefix: 'ws-abuse', points: Math.max(burst, 20), duration: BURST_WINDOW_SECONDS });
  }

  async admit(key: string): Promise<Admission> {
    try {
      await this.limiter.consume(key);
      return { ok: true };
    } catch (rej) {
      if (!(rej instanceof RateLimiterRes)) throw rej;
      let abusive = false;
      try {
        await this.strikes.consume(key);
      } catch (s) {
        if (!(s instanceof RateLimiterRes)) throw s;
        abusive = true;
      }
      return { ok: false, retryAfterMs: Math.max(1, rej.msBeforeNext), abusive };
    }
  }

  forget(key: string): void {
    void this.main.delete(key).catch(() => undefined);
    void this.extra.delete(key).catch(() => undefined);
    void this.strikes.delete(key).catch(() => undefined);
  }
}
