import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { REDIS_MAX_RETRY_DELAY_MS, redisRetryDelay } from './redis-connection';
import { RedisLinkState, redisTarget } from './redis-link';

const fakeClient = () => ({}) as Redis;

describe('redisTarget', () => {
  it('names host:port, never the credentials', () => {
    expect(redisTarget('redis://:s3cret@10.0.0.5:6380/2')).toBe('10.0.0.5:6380');
    expect(redisTarget('rediss://user:pw@cache.internal')).toBe('cache.internal:6379');
    expect(redisTarget('redis://[::1]:7000')).toBe('[::1]:7000');
    expect(redisTarget('not a url :pw@')).toBe('Redis');
    expect(redisTarget(undefined)).toBe('Redis');
  });
});

describe('redisRetryDelay', () => {
  it('backs off and is capped, and never gives up', () => {
    const delays = Array.from({ length: 50 }, (_, i) => redisRetryDelay(i + 1));
    expect(delays.slice(0, 6)).toEqual([100, 200, 400, 800, 1600, 2000]);
    expect(Math.max(...delays)).toBe(REDIS_MAX_RETRY_DELAY_MS);
    expect(delays.every((d) => typeof d === 'number' && d > 0)).toBe(true);
  });
});

describe('RedisLinkState', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is "not configured" without a URL', () => {
    expect(new RedisLinkState(undefined).status()).toBe('not configured');
  });

  it('logs one warning per outage for all its clients and one line when every client is back', () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const link = new RedisLinkState('redis://:pw@127.0.0.1:6390');
    const [a, b] = [fakeClient(), fakeClient()];
    link.track(a, 'a');
    link.track(b, 'b');
    expect(link.status()).toBe('down'); // not connected yet
    link.markUp(a);
    expect(link.status()).toBe('down');
    link.markUp(b);
    expect(link.status()).toBe('up');
    expect(log).toHaveBeenCalledTimes(1);

    link.noteError(a, new Error('read ECONNRESET'));
    for (let i = 0; i < 20; i++) {
      link.markDown(a);
      link.markDown(b);
      link.noteError(b, new Error('connect ECONNREFUSED 127.0.0.1:6390'));
    }
    expect(link.status()).toBe('down');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(
      /^Redis link to 127\.0\.0\.1:6390 lost \(read ECONNRESET\): prices and portfolio changes from other processes stop arriving/,
    );
    expect(String(warn.mock.calls[0][0])).not.toContain('pw');

    link.markUp(a);
    expect(link.status()).toBe('down'); // b is still away
    link.markUp(b);
    expect(link.status()).toBe('up');
    expect(log).toHaveBeenCalledTimes(2);
    expect(String(log.mock.calls[1][0])).toMatch(/^Redis link to 127\.0\.0\.1:6390 is back after/);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('says so once when the link cannot be made at start-up, and ignores clients closed on purpose', () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const link = new RedisLinkState('redis://127.0.0.1:1');
    const a = fakeClient();
    link.track(a, 'a');
    link.noteError(a, new Error('connect ECONNREFUSED 127.0.0.1:1'));
    link.markDown(a);
    link.markDown(a);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/could not be established at start-up \(connect ECONNREFUSED 127\.0\.0\.1:1\)/);
    link.untrack(a);
    link.markUp(a);
    link.markDown(a);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(link.isUp(a)).toBe(false);
  });
});
