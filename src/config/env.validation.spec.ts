import { describe, expect, it } from 'vitest';
import { AppConfig } from './app-config';
import { ConfigValidationError, validateEnv } from './env.validation';

describe('validateEnv', () => {
  it('applies the documented defaults to an empty environment', () => {
    const env = validateEnv({});
    expect(env).toMatchObject({
      PORT: 8000,
      REALTIME_UPDATE_INTERVAL: 30,
      REALTIME_BATCH_SIZE: 50,
      REALTIME_CACHE_TIMEOUT: 300,
      WEBSOCKET_TIMEOUT: 300,
      MAX_CONNECTIONS_PER_USER: 5,
      MAX_SUBSCRIPTIONS_PER_CONNECTION: 50,
      PRICE_FEED_MODE: 'inprocess',
      DATA_DIR: './data',
      PORTFOLIO_INTRADAY_DAYS: 7,
      PORTFOLIO_INTRADAY_INTERVAL: 60,
    });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('converts numbers and keeps only declared settings', () => {
    const env = validateEnv({ PORT: '9001', REALTIME_UPDATE_INTERVAL: '0.5', HOME: '/root' });
    expect(env.PORT).toBe(9001);
    expect(env.REALTIME_UPDATE_INTERVAL).toBe(0.5);
    expect((env as unknown as Record<string, unknown>).HOME).toBeUndefined();
  });

  it('keeps optional settings when they are set', () => {
    const env = validateEnv({ REDIS_URL: 'redis://127.0.0.1:6379', EMBEDDED_PG_PORT: '5544', SEED_DEMO: 'false', ALPHAVANTAGE_API_KEY: 'k' });
    expect(env).toMatchObject({ REDIS_URL: 'redis://127.0.0.1:6379', EMBEDDED_PG_PORT: 5544, SEED_DEMO: false, ALPHAVANTAGE_API_KEY: 'k' });
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['DATABASE_URL', 'SESSION_SECRET', 'REPLAY_FILE']));
  });

  it('names every bad variable in one error', () => {
    expect(() => validateEnv({ PORT: 'eighty', MAX_CONNECTIONS_PER_USER: '0', PRICE_FEED_MODE: 'sometimes' })).toThrowError(ConfigValidationError);
    try {
      validateEnv({ PORT: 'eighty', MAX_CONNECTIONS_PER_USER: '0', PRICE_FEED_MODE: 'sometimes' });
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toContain('PORT="eighty"');
      expect(msg).toContain('MAX_CONNECTIONS_PER_USER="0"');
      expect(msg).toContain('PRICE_FEED_MODE="sometimes"');
    }
  });

  it('checks the intraday series settings: whole days from 1, an interval of 0.05 to 3600 s (fractions allowed)', () => {
    const env = AppConfig.from(validateEnv({ PORTFOLIO_INTRADAY_DAYS: '30', PORTFOLIO_INTRADAY_INTERVAL: '0.25' }));
    expect(env).toMatchObject({ PORTFOLIO_INTRADAY_DAYS: 30, PORTFOLIO_INTRADAY_INTERVAL: 0.25 });
    expect(env.intradayIntervalMs).toBe(250);
    expect(AppConfig.from(validateEnv({})).intradayIntervalMs).toBe(60_000);
    for (const bad of [{ PORTFOLIO_INTRADAY_DAYS: '0' }, { PORTFOLIO_INTRADAY_DAYS: '1.5' }, { PORTFOLIO_INTRADAY_DAYS: 'week' }]) {
      expect(() => validateEnv(bad)).toThrowError(/PORTFOLIO_INTRADAY_DAYS=/);
    }
    for (const bad of [{ PORTFOLIO_INTRADAY_INTERVAL: '0' }, { PORTFOLIO_INTRADAY_INTERVAL: '0.01' }, { PORTFOLIO_INTRADAY_INTERVAL: '3601' }]) {
      expect(() => validateEnv(bad)).toThrowError(/PORTFOLIO_INTRADAY_INTERVAL=/);
    }
  });

  it('requires a long SESSION_SECRET in production', () => {
    expect(() => validateEnv({ NODE_ENV: 'production' })).toThrowError(/SESSION_SECRET is required/);
    expect(() => validateEnv({ NODE_ENV: 'production', SESSION_SECRET: 'short' })).toThrowError(/SESSION_SECRET/);
    expect(validateEnv({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40) }).NODE_ENV).toBe('production');
  });

  it('derives typed helpers', () => {
    const c = AppConfig.from(validateEnv({ ALLOWED_ORIGINS: 'https://a.example, http://b.example:8080', TRUST_PROXY: '2' }));
    expect(c.allowedOrigins).toEqual(['https://a.example', 'http://b.example:8080']);
    expect(c.trustProxy).toBe(2);
    expect(c.demoPassword).toBe('demo-password');
    const prod = AppConfig.from(validateEnv({ NODE_ENV: 'production', SESSION_SECRET: 'y'.repeat(40) }));
    expect(prod.demoPassword).toBeUndefined();
    expect(prod.seedDemo).toBe(false);
  });
});
