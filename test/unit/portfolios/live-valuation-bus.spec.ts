import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AssetPricesRepository } from '../../../src/assets/asset-prices.repository';
import { InProcessBus } from '../../../src/bus/in-process.bus';
import type { AppConfig } from '../../../src/config/app-config';
import { LiveValuationService } from '../../../src/portfolios/valuation/live-valuation.service';
import type { PortfolioHoldingsRepository } from '../../../src/portfolios/valuation/portfolio-holdings.repository';
import type { HoldingRow, SymbolPriceRow } from '../../../src/portfolios/valuation/valuation-engine';
import type { PortfolioValuation } from '../../../src/portfolios/valuation/valuation.types';
import { describeRejection, logUnhandledRejections } from '../../../src/common/unhandled-rejection';
import { poll } from '../../support/poll';

const CONFIG = { REALTIME_UPDATE_INTERVAL: 30 } as AppConfig;

/** The service over scripted repositories: the start-up load answers `assets` and `all`, a reload answers `portfolio(id)`. */
function service(
  bus: InProcessBus,
  repos: { assets?: () => Promise<SymbolPriceRow[]>; all?: () => Promise<HoldingRow[]>; portfolio?: (id: number) => Promise<HoldingRow[]> },
): LiveValuationService {
  const assetPrices = { allPrices: repos.assets ?? (async () => []) } as unknown as AssetPricesRepository;
  const holdings = { all: repos.all ?? (async () => []), portfolio: repos.portfolio ?? (async () => []) } as unknown as PortfolioHoldingsRepository;
  return new LiveValuationService(assetPrices, holdings, bus, CONFIG);
}

/** A promise with its resolve/reject outside. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (symbol: string, price: string, asOf = new Date()) => ({
  symbol,
  price,
  previous_close: null,
  high: null,
  low: null,
  volume: null,
  as_of: asOf.toISOString(),
  source: 'test',
});

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
    const svc = service(bus, { portfolio: () => Promise.reject(null) });
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
      await poll('errors.length === 2', () => errors.length === 2);
      expect(errors[1]).toBe('Reloading portfolio 8 failed: null');
      await new Promise((r) => setTimeout(r, 50)); // a bounded window for late rejections
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await svc.onModuleDestroy();
    }
  });
});

describe('LiveValuationService: the shell around the engine', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  const A_ROWS: HoldingRow[] = [{ portfolio_id: 1, owner_id: 1, name: 'P1', symbol: 'A', quantity: '2' }];
  const A_PRICE = (): SymbolPriceRow[] => [{ symbol: 'A', current_price: '10', previous_close: '10', last_updated: new Date(Date.now() - 60_000) }];

  it('holds bus messages that arrive during the load and applies them after it, in order', async () => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const bus = new InProcessBus();
    const assets = deferred<SymbolPriceRow[]>();
    const reads: number[] = [];
    const svc = service(bus, {
      assets: () => assets.promise,
      all: async () => A_ROWS,
      portfolio: async (id) => {
        reads.push(id);
        return id === 1 ? [{ ...A_ROWS[0], quantity: '3', current_price: '11', previous_close: '10', last_updated: new Date() }] : [];
      },
    });
    const seen: PortfolioValuation[][] = [];
    svc.onChange((c) => seen.push(c));
    svc.onModuleInit();
    const booted = svc.onApplicationBootstrap();
    await bus.publish('prices.committed', { ticks: [tick('A', '11')], published_at: Date.now(), origin: 'test' });
    await bus.publish('portfolio.changed', { portfolio_id: 1, owner_id: 1 });
    await new Promise((r) => setImmediate(r)); // the bus delivers on the immediates queued by the publishes, before this one
    expect(reads).toEqual([]); // held: nothing applied before the load
    expect(seen).toEqual([]);
    assets.resolve(A_PRICE());
    await booted;
    await poll('seen.length === 2', () => seen.length === 2);
    // The price batch first (2 x 11), then the reload (3 x 11): the order they arrived in.
    expect(seen.map((c) => c.map((v) => v.total_value))).toEqual([['22'], ['33']]);
    expect(reads).toEqual([1]);
    expect(await svc.snapshot(1)).toMatchObject({ total_value: '33', daily_change: '3', positions_count: 1 });
    await svc.onModuleDestroy();
  });

  it('snapshot: validates the id, reads a portfolio created since the load, and answers null for one that does not exist', async () => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const bus = new InProcessBus();
    const reads: number[] = [];
    const svc = service(bus, {
      assets: async () => A_PRICE(),
      all: async () => A_ROWS,
      portfolio: async (id) => {
        reads.push(id);
        return id === 2
          ? [{ portfolio_id: 2, owner_id: 5, name: 'New', symbol: 'A', quantity: '1', current_price: '10', previous_close: '10', last_updated: new Date() }]
          : [];
      },
    });
    svc.onModuleInit();
    await svc.onApplicationBootstrap();
    for (const bad of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) expect(await svc.snapshot(bad)).toBeNull();
    expect(reads).toEqual([]);
    expect(await svc.snapshot(1)).toMatchObject({ portfolio_id: 1, total_value: '20' });
    expect(reads).toEqual([]); // loaded: no read
    expect(await svc.snapshot(2)).toMatchObject({ portfolio_id: 2, owner_id: 5, name: 'New', total_value: '10' });
    expect(await svc.snapshot(3)).toBeNull();
    expect(reads).toEqual([2, 3]);
    expect(svc.stats()).toEqual({ portfolios: 2, positions: 2, symbols: 1 });
    await svc.onModuleDestroy();
  });

  it("still announces a change when a snapshot's read supersedes its reload, and both answer the newest rows", async () => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const bus = new InProcessBus();
    const pending: { id: number; d: ReturnType<typeof deferred<HoldingRow[]>> }[] = [];
    const svc = service(bus, {
      assets: async () => A_PRICE(),
      portfolio: (id) => {
        const d = deferred<HoldingRow[]>();
        pending.push({ id, d });
        return d.promise;
      },
    });
    const seen: PortfolioValuation[][] = [];
    svc.onChange((c) => seen.push(c));
    svc.onModuleInit();
    await svc.onApplicationBootstrap();
    await bus.publish('portfolio.changed', { portfolio_id: 7, owner_id: 1 });
    await poll('pending.length === 1', () => pending.length === 1); // the announcing reload is reading
    const snap = svc.snapshot(7); // not loaded: a second read, which announces nothing by itself
    await poll('pending.length === 2', () => pending.length === 2);
    const rows = (quantity: string): HoldingRow[] => [
      { portfolio_id: 7, owner_id: 1, name: 'P7', symbol: 'A', quantity, current_price: '10', previous_close: '10', last_updated: new Date() },
    ];
    pending[1].d.resolve(rows('5')); // the newest read answers first and applies
    expect(await snap).toMatchObject({ total_value: '50' });
    pending[0].d.resolve(rows('4')); // the superseded one's rows are dropped
    await poll('seen.length === 1', () => seen.length === 1);
    expect(seen[0]).toEqual([expect.objectContaining({ portfolio_id: 7, total_value: '50' })]);
    expect(await svc.snapshot(7)).toMatchObject({ total_value: '50' });
    await svc.onModuleDestroy();
    expect(seen).toHaveLength(1);
  });

  it('drops a deleted portfolio; a reload of it still reading does not bring it back', async () => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const bus = new InProcessBus();
    const read = deferred<HoldingRow[]>();
    let reads = 0;
    const svc = service(bus, {
      assets: async () => A_PRICE(),
      all: async () => A_ROWS,
      portfolio: () => {
        reads++;
        return read.promise;
      },
    });
    const seen: PortfolioValuation[][] = [];
    svc.onChange((c) => seen.push(c));
    svc.onModuleInit();
    await svc.onApplicationBootstrap();
    await bus.publish('portfolio.changed', { portfolio_id: 1, owner_id: 1 });
    await poll('reads === 1', () => reads === 1);
    await bus.publish('portfolio.changed', { portfolio_id: 1, owner_id: 1, deleted: true });
    await poll('svc.stats().portfolios === 0', () => svc.stats().portfolios === 0);
    read.resolve([{ ...A_ROWS[0], current_price: '10', previous_close: '10', last_updated: new Date() }]); // read before the delete committed
    await svc.onModuleDestroy(); // waits for that reload
    expect(svc.stats()).toEqual({ portfolios: 0, positions: 0, symbols: 1 });
    expect(seen).toEqual([]);
  });

  it('onModuleDestroy stops listening and waits for a reload still reading', async () => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const bus = new InProcessBus();
    const read = deferred<HoldingRow[]>();
    let reads = 0;
    const svc = service(bus, {
      assets: async () => A_PRICE(),
      all: async () => A_ROWS,
      portfolio: () => {
        reads++;
        return read.promise;
      },
    });
    const seen: PortfolioValuation[][] = [];
    svc.onChange((c) => seen.push(c));
    svc.onModuleInit();
    await svc.onApplicationBootstrap();
    await bus.publish('portfolio.changed', { portfolio_id: 1, owner_id: 1 });
    await poll('reads === 1', () => reads === 1);
    let finished = false;
    const destroyed = svc.onModuleDestroy().then(() => void (finished = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); // a few turns: still waiting
    expect(finished).toBe(false);
    read.resolve([{ ...A_ROWS[0], quantity: '9', current_price: '10', previous_close: '10', last_updated: new Date() }]);
    await destroyed;
    expect(finished).toBe(true);
    expect(seen).toEqual([]); // listeners were dropped first
    // No longer subscribed: later messages change nothing (and start no read).
    await bus.publish('prices.committed', { ticks: [tick('A', '99')], published_at: Date.now(), origin: 'test' });
    await bus.publish('portfolio.changed', { portfolio_id: 1, owner_id: 1 });
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(1);
    expect(await svc.snapshot(1)).toMatchObject({ total_value: '90' });
  });

  it('onModuleDestroy waits at most 5 s for a reload that never answers', async () => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const bus = new InProcessBus();
    let reads = 0;
    const svc = service(bus, {
      portfolio: () => {
        reads++;
        return new Promise<HoldingRow[]>(() => undefined);
      },
    });
    svc.onModuleInit();
    await svc.onApplicationBootstrap();
    await bus.publish('portfolio.changed', { portfolio_id: 1, owner_id: 1 });
    await poll('reads === 1', () => reads === 1);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let finished = false;
    const destroyed = svc.onModuleDestroy().then(() => void (finished = true));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(finished).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await destroyed;
    expect(finished).toBe(true);
  });

  it('onPortfolioChanged resolves even when reporting the failure throws', async () => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const bus = new InProcessBus();
    const svc = service(bus, { portfolio: () => Promise.reject(new Error('db down')) });
    svc.onModuleInit();
    await svc.onApplicationBootstrap();
    const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => {
      throw new Error('logger broken');
    });
    const call = (m: unknown) => (svc as unknown as { onPortfolioChanged(m: unknown): Promise<void> }).onPortfolioChanged(m);
    await expect(call({ portfolio_id: 3, owner_id: 1 })).resolves.toBeUndefined();
    expect(error).toHaveBeenCalledTimes(1);
    await svc.onModuleDestroy();
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
    const hostile = {
      toJSON() {
        throw new Error('no');
      },
    };
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
      const throwing = logUnhandledRejections({
        error: () => {
          throw new Error('log failed');
        },
      });
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
