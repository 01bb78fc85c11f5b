import { CronTime } from 'cron';
import { describe, expect, it } from 'vitest';
import { ConfigValidationError, validateEnv } from '../../../src/config/env.validation';
import { applyFlags } from '../../../src/price-feed.main';
import { cronForInterval, feedSchedule, longestGapMs } from '../../../src/price-feed/feed/feed-schedule';

describe('cronForInterval: the cron expression that fires exactly every N seconds', () => {
  it.each([
    [1, '* * * * * *'],
    [2, '*/2 * * * * *'],
    [15, '*/15 * * * * *'],
    [30, '*/30 * * * * *'],
    [60, '0 * * * * *'],
    [120, '0 */2 * * * *'],
    [900, '0 */15 * * * *'],
    [3600, '0 0 * * * *'],
    [7200, '0 0 */2 * * *'],
    [21600, '0 0 */6 * * *'],
    [86400, '0 0 0 * * *'],
  ])('%s s -> "%s", which fires at even gaps of that length', (seconds, expression) => {
    expect(cronForInterval(seconds)).toBe(expression);
    // The expression the cron package reads fires every `seconds` seconds, wherever it starts.
    const dates = new CronTime(expression, 'UTC').sendAt(5).map((d) => d.toMillis());
    for (let i = 1; i < dates.length; i++) expect(dates[i] - dates[i - 1]).toBe(seconds * 1000);
  });

  it.each([0.05, 0.2, 0.5, 1.5, 7, 45, 59, 90, 61, 3000, 5400, 18000, 172800])('%s s has none (no cron expression fires at those even gaps)', (seconds) => {
    expect(cronForInterval(seconds)).toBeUndefined();
  });
});

describe('feedSchedule', () => {
  it('derives the cron job from REALTIME_UPDATE_INTERVAL by default (30 s -> every 30 seconds)', () => {
    const env = validateEnv({});
    expect(env.PRICE_FEED_CRON).toBeUndefined();
    expect(feedSchedule(env)).toEqual({ kind: 'cron', expression: '*/30 * * * * *', from: 'REALTIME_UPDATE_INTERVAL' });
    expect(feedSchedule(validateEnv({ REALTIME_UPDATE_INTERVAL: '15' }))).toEqual({
      kind: 'cron',
      expression: '*/15 * * * * *',
      from: 'REALTIME_UPDATE_INTERVAL',
    });
  });

  it('PRICE_FEED_CRON wins over REALTIME_UPDATE_INTERVAL (also over a sub-second one)', () => {
    for (const interval of ['30', '0.2', '45']) {
      expect(feedSchedule(validateEnv({ PRICE_FEED_CRON: '0 */5 * * * *', REALTIME_UPDATE_INTERVAL: interval }))).toEqual({
        kind: 'cron',
        expression: '0 */5 * * * *',
        from: 'PRICE_FEED_CRON',
      });
    }
  });

  it('falls back to a fixed-rate timer for intervals no cron expression states, saying why', () => {
    expect(feedSchedule(validateEnv({ REALTIME_UPDATE_INTERVAL: '0.2' }))).toEqual({
      kind: 'timer',
      everyMs: 200,
      reason: expect.stringMatching(/at most once a second/),
    });
    expect(feedSchedule(validateEnv({ REALTIME_UPDATE_INTERVAL: '1.5' }))).toEqual({
      kind: 'timer',
      everyMs: 1500,
      reason: expect.stringMatching(/whole seconds/),
    });
    expect(feedSchedule(validateEnv({ REALTIME_UPDATE_INTERVAL: '45' }))).toEqual({
      kind: 'timer',
      everyMs: 45_000,
      reason: expect.stringMatching(/uneven gaps/),
    });
  });

  it('longestGapMs measures the widest gap between firings (for the staleness warning)', () => {
    expect(longestGapMs('*/30 * * * * *')).toBe(30_000);
    expect(longestGapMs('0,10 * * * * *')).toBe(50_000);
  });
});

describe('validateEnv: PRICE_FEED_CRON', () => {
  it.each(['*/30 * * * * *', '0 */5 * * * *', '0 0 9-17 * * 1-5', '15,45 * * * * *', '  */10 * * * * *  '])('accepts "%s"', (expression) => {
    expect(validateEnv({ PRICE_FEED_CRON: expression }).PRICE_FEED_CRON).toBe(expression);
  });

  it.each([
    ['* * * * *', /it has 5 fields/],
    ['* * * * * * *', /it has 7 fields/],
    ['@hourly', /it has 1 field\b/],
    ['61 * * * * *', /out of range/],
    ['*/0 * * * * *', /step of zero/],
    ['every thirty seconds please', /it has 4 fields/],
    ['a b c d e f', /.+/],
    ['0 0 0 30 2 *', /never fires/],
  ])('rejects "%s" with a ConfigValidationError naming PRICE_FEED_CRON and why', (expression, why) => {
    let error: unknown;
    try {
      validateEnv({ PRICE_FEED_CRON: expression });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const message = (error as Error).message;
    expect(message).toContain(`PRICE_FEED_CRON=${JSON.stringify(expression)}`);
    expect(message).toMatch(/must be a cron expression with seconds: 6 fields/);
    expect(message).toMatch(why);
  });

  it('an empty PRICE_FEED_CRON is unset (the derived schedule applies)', () => {
    expect(validateEnv({ PRICE_FEED_CRON: '' }).PRICE_FEED_CRON).toBeUndefined();
  });
});

describe('price-feed process flags', () => {
  it('--interval sets REALTIME_UPDATE_INTERVAL and wins over PRICE_FEED_CRON (which .env cannot bring back)', () => {
    const env: NodeJS.ProcessEnv = { PRICE_FEED_CRON: '0 */5 * * * *' };
    applyFlags(['--interval', '15'], env);
    expect(env.REALTIME_UPDATE_INTERVAL).toBe('15');
    // Empty, not deleted: @nestjs/config does not override a key that is present.
    expect('PRICE_FEED_CRON' in env && env.PRICE_FEED_CRON).toBe('');
    expect(feedSchedule(validateEnv(env as Record<string, string>))).toEqual({ kind: 'cron', expression: '*/15 * * * * *', from: 'REALTIME_UPDATE_INTERVAL' });
  });

  it('without --interval, PRICE_FEED_CRON stays', () => {
    const env: NodeJS.ProcessEnv = { PRICE_FEED_CRON: '0 */5 * * * *' };
    applyFlags(['--batch-size', '10'], env);
    expect(feedSchedule(validateEnv(env as Record<string, string>))).toMatchObject({ kind: 'cron', expression: '0 */5 * * * *' });
  });
});
