import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, backoffDelay, baseDelay, resolveBackoff } from '../../../client/backoff';

describe('client backoff', () => {
  const o = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 5_000, factor: 2, jitter: 0.5 });

  it('grows exponentially from the initial delay and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((a) => baseDelay(a, o))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('never overflows for huge attempt numbers', () => {
    expect(baseDelay(10_000, o)).toBe(5_000);
    expect(backoffDelay(10_000, o, () => 0)).toBe(5_000);
  });

  it('draws the jittered delay from [base * (1 - jitter), base]', () => {
    expect(backoffDelay(3, o, () => 0)).toBe(800);
    expect(backoffDelay(3, o, () => 0.5)).toBe(600);
    expect(backoffDelay(3, o, () => 0.999999)).toBe(400);
    // Out-of-range random values are clamped instead of producing negative or larger delays.
    expect(backoffDelay(3, o, () => 7)).toBe(400);
    expect(backoffDelay(3, o, () => -1)).toBe(800);
  });

  it('spreads many clients over the jitter window', () => {
    let seed = 12345;
    const lcg = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const delays = Array.from({ length: 200 }, () => backoffDelay(4, o, lcg));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1600);
    expect(new Set(delays).size).toBeGreaterThan(50);
  });

  it('has no jitter when jitter is 0', () => {
    const fixed = resolveBackoff({ initialDelayMs: 250, jitter: 0 });
    expect(backoffDelay(2, fixed, () => 0.9)).toBe(1000);
  });

  it('fills defaults and rejects nonsense', () => {
    expect(resolveBackoff()).toEqual({ ...DEFAULT_BACKOFF });
    expect(() => resolveBackoff({ initialDelayMs: -1 })).toThrow(/initialDelayMs/);
    expect(() => resolveBackoff({ initialDelayMs: 1000, maxDelayMs: 10 })).toThrow(/maxDelayMs/);
    expect(() => resolveBackoff({ factor: 0.5 })).toThrow(/factor/);
    expect(() => resolveBackoff({ jitter: 1.5 })).toThrow(/jitter/);
    expect(() => resolveBackoff({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => resolveBackoff({ initialDelayMs: Number.NaN })).toThrow(/initialDelayMs/);
  });
});
