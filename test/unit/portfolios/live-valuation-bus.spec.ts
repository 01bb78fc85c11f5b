import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InProcessBus } from '../../../src/bus/in-process.bus';
import type { AppConfig } from '../../../src/config/app-config';
import { LiveValuationService } from '../../../src/portfolios/valuation/live-valuation.service';
import { describeRejection, logUnhandledRejections } from '../../../src/common/unhandled-rejection';

/** A database that answers the start-up load with nothing and every portfolio reload with `reloadError`. */
function fakeDb(reloadError: unknown): DataSource {
  return {
    query: async (sql: string) => {
      if (/WHERE p\.id = \$1/.test(sql)) throw reloadError;
      return [];
    },
  } as unknown as DataSource;
}

/** Polls until `fn` is true; bounded in count and time. */
async function until(fn: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  for (let i = 0; i < 1_000 && Date.now() < end; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('condition not met in time');
}

describe('LiveValuationService: portfolio.changed never rejects', () => {
  afterEach(() => vi.restoreAllMocks());

  it('ignores null and malformed messages, and logs a failed reload (even one rejected with null) in one line', async () => {
    const errors: string[] = [];
    vi.spyOn(Logger.prototype, 'error').mockImplementation((m: unknown) => void errors.push(String(m)));
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown) => void unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    const bus = new InProcessBus();
    const svc = new LiveValuationService(fakeDb(null), bus, { REALTIME_UPDATE_INTERVAL: 30 } as AppConfig);
    try {
      svc.onModuleInit();
      await svc.onApplicationBootstrap();
      const call = (m: unknown) => (svc as unknown as { onPortfolioChanged(m: unknown): Promise<void> }).onPortfolioChanged(m);
      // Straight calls: every one resolves.
      for (const m of [null, undefined, 'x', 42, [], {}, { portfolio_id: null }, { portfolio_id: '1' }, { portfolio_id: -1 }, { portfolio_id: 1.5 }]) {
        await expect(call(m)).resolves.toBeUndefined();
      }
      expect(errors).toEqual([]);
      await expect(call({ portfolio_id: 7, owner_id: 1 })).resolves.toBeUndefined();
      expect(errors).toEqual(['Reloading portfolio 7 failed: null']);

      // Through a bus that does not check (the in-process one): nothing rejects unhandled.
      await bus.publish('portfolio.changed', null as never);
      await bus.publish('portfolio.changed', { portfolio_id: 8, owner_id: 1 });
      await until(() => errors.length === 2);
      expect(errors[1]).toBe('Reloading portfolio 8 failed: null');
      await new Promise((r) => setTimeout(r, 50)); // a bounded window for late rejections
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await svc.onModuleDestroy();
    }
  });
});

describe('the API process handler for unhandled rejections', () => {
  afterEach(() => vi.restoreAllMocks());

  it('describes any reason in one line, never throwing', () => {
    const err = new TypeError("Cannot read properties of null (reading 'portfolio_id')");
    const line = describeRejection(err);
    expect(line).toMatch(/^TypeError: Cannot read properties of null \(reading 'portfolio_id'\) \(at /);
    expect(line).not.toContain('\n');
    expect(describeRejection(null)).toBe('null');
    expect(describeRejection(undefined)).toBe('undefined');
    expect(describeRejection('multi\nline')).toBe('multi line');
    expect(describeRejection({ code: 42 })).toBe('{"code":42}');
    const hostile = { toJSON() {
      throw new Error('no');
    } };
    expect(describeRejection(hostile)).toBe('an unprintable value');
  });

  it('logs one error line per rejection and keeps the process running', () => {
    const lines: string[] = [];
    const handler = logUnhandledRejections({ error: (m: string) => void lines.push(m) });
    try {
      expect(process.listeners('unhandledRejection')).toContain(handler);
      process.emit('unhandledRejection', new TypeError('boom'), Promise.resolve());
      process.emit('unhandledRejection', null, Promise.resolve());
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^Unhandled rejection \(kept running\): TypeError: boom \(at /);
      expect(lines[1]).toBe('Unhandled rejection (kept running): null');
      // A logger that throws does not throw out of the handler.
      const throwing = logUnhandledRejections({ error: () => {
        throw new Error('log failed');
      } });
      try {
        expect(() => throwing(new Error('x'))).not.toThrow();
      } finally {
        process.off('unhandledRejection', throwing);
      }
    } finally {
      process.off('unhandledRejection', handler);
    }
  });
});
