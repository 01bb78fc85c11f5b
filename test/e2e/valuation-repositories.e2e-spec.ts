import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetPricesRepository } from '../../src/assets/asset-prices.repository';
import { buildDataSourceOptions } from '../../src/database/data-source.options';
import { isForeignKeyViolation, isTransientDbError, isUniqueViolation, pgErrorCode } from '../../src/database/db-errors';
import { PortfolioHoldingsRepository } from '../../src/portfolios/valuation/portfolio-holdings.repository';
import { ValuationEngine } from '../../src/portfolios/valuation/valuation-engine';
import { staleAfterMs } from '../../src/common/staleness';
import { valuePortfolio } from '../../src/portfolios/valuation/valuation.math';
import { createTestDatabase } from '../support/database';

/**
 * The repositories behind the live valuation, the feed's known prices and the latest-price cache,
 * against real PostgreSQL with the app's migrations: what the rows look like (NUMERIC as strings,
 * timestamps as Dates, the join's shape and order), that the engine values them exactly, and that
 * the constraint-violation helpers recognise the server's own errors through TypeORM.
 */
describe('asset-price and portfolio-holdings repositories (real PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let ds: DataSource;
  let prices: AssetPricesRepository;
  let holdings: PortfolioHoldingsRepository;
  const t1 = new Date('2026-11-25T12:00:00.000Z');
  const t2 = new Date('2026-11-25T12:00:05.123Z');

  beforeAll(async () => {
    db = await createTestDatabase('rmrepo');
    ds = await new DataSource({ ...buildDataSourceOptions(db.url, 2), logging: false }).initialize();
    await ds.runMigrations();
    await ds.query(`INSERT INTO users (id, username, password_hash) VALUES (1, 'u1', 'x'), (2, 'u2', 'x')`);
    await ds.query(
      `INSERT INTO assets (symbol, name, asset_type, current_price, previous_close, day_high, day_low, volume, last_updated, source) VALUES
         ('MSFT', 'Microsoft', 'STOCK', 420.5, 400, 421, 399.5, 1000, $1, 'yahoo'),
         ('AAPL', 'Apple', 'STOCK', 0.1, NULL, NULL, NULL, NULL, $2, NULL),
         ('BTC-USD', 'Bitcoin', 'CRYPTO', 63250.12345678, 60000, NULL, NULL, NULL, NULL, NULL),
         ('NEWCO', 'New Co', 'STOCK', NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
      [t1, t2],
    );
    // Portfolio ids out of insertion order, positions out of symbol order: the reads order by id.
    await ds.query(
      `INSERT INTO portfolios (id, owner_id, name, base_currency) VALUES (20, 2, 'Second', 'USD'), (10, 1, 'First', 'USD'), (30, 1, 'Empty', 'EUR')`,
    );
    const pos = (portfolio: number, symbol: string, quantity: string) =>
      ds.query(`INSERT INTO positions (portfolio_id, asset_id, quantity, average_cost) SELECT $1, id, $3, 1 FROM assets WHERE symbol = $2`, [
        portfolio,
        symbol,
        quantity,
      ]);
    await pos(10, 'MSFT', '0.1');
    await pos(10, 'AAPL', '3');
    await pos(20, 'BTC-USD', '1000000000000');
    await pos(20, 'NEWCO', '5');
    await pos(10, 'BTC-USD', '0.00000001');
    prices = new AssetPricesRepository(ds);
    holdings = new PortfolioHoldingsRepository(ds);
  });

  afterAll(async () => {
    await ds?.destroy().catch(() => undefined);
    await db?.drop();
  });

  it('allPrices: every asset, prices as NUMERIC strings (unpriced as null), times as Dates', async () => {
    const rows = (await prices.allPrices()).sort((a, b) => a.symbol.localeCompare(b.symbol));
    expect(rows).toEqual([
      { symbol: 'AAPL', asset_type: 'STOCK', current_price: '0.10000000', previous_close: null, last_updated: t2 },
      { symbol: 'BTC-USD', asset_type: 'CRYPTO', current_price: '63250.12345678', previous_close: '60000.00000000', last_updated: null },
      { symbol: 'MSFT', asset_type: 'STOCK', current_price: '420.50000000', previous_close: '400.00000000', last_updated: t1 },
      { symbol: 'NEWCO', asset_type: 'STOCK', current_price: null, previous_close: null, last_updated: null },
    ]);
  });

  it('knownPrices: the asked symbols with their type, ordered by symbol, unknown ones absent; all assets without symbols', async () => {
    expect(await prices.knownPrices(['MSFT', 'NOPE', 'AAPL'])).toEqual([
      { symbol: 'AAPL', asset_type: 'STOCK', current_price: '0.10000000', previous_close: null, last_updated: t2 },
      { symbol: 'MSFT', asset_type: 'STOCK', current_price: '420.50000000', previous_close: '400.00000000', last_updated: t1 },
    ]);
    expect(await prices.knownPrices([])).toEqual([]);
    expect((await prices.knownPrices()).map((r) => [r.symbol, r.asset_type])).toEqual([
      ['AAPL', 'STOCK'],
      ['BTC-USD', 'CRYPTO'],
      ['MSFT', 'STOCK'],
      ['NEWCO', 'STOCK'],
    ]);
  });

  it('latestQuotes: the whole stored quote of the priced ones among the asked symbols', async () => {
    const rows = (await prices.latestQuotes(['MSFT', 'NEWCO', 'AAPL', 'NOPE'])).sort((a, b) => a.symbol.localeCompare(b.symbol));
    expect(rows).toEqual([
      {
        symbol: 'AAPL',
        current_price: '0.10000000',
        previous_close: null,
        day_high: null,
        day_low: null,
        volume: null,
        last_updated: t2,
        source: null,
        price_seq: '0',
      },
      {
        symbol: 'MSFT',
        current_price: '420.50000000',
        previous_close: '400.00000000',
        day_high: '421.00000000',
        day_low: '399.50000000',
        volume: '1000.00000000',
        last_updated: t1,
        source: 'yahoo',
        price_seq: '0',
      },
    ]);
  });

  it('holdings.all: every portfolio by id, its positions by position id, an empty one as a single row without symbol', async () => {
    expect(await holdings.all()).toEqual([
      { portfolio_id: 10, owner_id: 1, name: 'First', base_currency: 'USD', symbol: 'MSFT', currency: 'USD', quantity: '0.10000000' },
      { portfolio_id: 10, owner_id: 1, name: 'First', base_currency: 'USD', symbol: 'AAPL', currency: 'USD', quantity: '3.00000000' },
      { portfolio_id: 10, owner_id: 1, name: 'First', base_currency: 'USD', symbol: 'BTC-USD', currency: 'USD', quantity: '0.00000001' },
      { portfolio_id: 20, owner_id: 2, name: 'Second', base_currency: 'USD', symbol: 'BTC-USD', currency: 'USD', quantity: '1000000000000.00000000' },
      { portfolio_id: 20, owner_id: 2, name: 'Second', base_currency: 'USD', symbol: 'NEWCO', currency: 'USD', quantity: '5.00000000' },
      { portfolio_id: 30, owner_id: 1, name: 'Empty', base_currency: 'EUR', symbol: null, currency: null, quantity: null },
    ]);
  });

  it('holdings.portfolio: one portfolio with its assets’ prices, [] when it does not exist', async () => {
    expect(await holdings.portfolio(20)).toEqual([
      {
        portfolio_id: 20,
        owner_id: 2,
        name: 'Second',
        base_currency: 'USD',
        symbol: 'BTC-USD',
        currency: 'USD',
        quantity: '1000000000000.00000000',
        current_price: '63250.12345678',
        previous_close: '60000.00000000',
        last_updated: null,
      },
      {
        portfolio_id: 20,
        owner_id: 2,
        name: 'Second',
        base_currency: 'USD',
        symbol: 'NEWCO',
        currency: 'USD',
        quantity: '5.00000000',
        current_price: null,
        previous_close: null,
        last_updated: null,
      },
    ]);
    expect(await holdings.portfolio(30)).toEqual([
      {
        portfolio_id: 30,
        owner_id: 1,
        name: 'Empty',
        base_currency: 'EUR',
        symbol: null,
        currency: null,
        quantity: null,
        current_price: null,
        previous_close: null,
        last_updated: null,
      },
    ]);
    expect(await holdings.portfolio(999)).toEqual([]);
  });

  it('the engine loaded from these rows, and reloading from them, values exactly as a full recount', async () => {
    const engine = new ValuationEngine({ staleMs: staleAfterMs(30) });
    engine.load(await prices.allPrices(), await holdings.all());
    const recount = async (id: number) => {
      const rows = await ds.query(
        `SELECT pos.quantity, a.current_price AS price, a.previous_close FROM positions pos JOIN assets a ON a.id = pos.asset_id WHERE pos.portfolio_id = $1`,
        [id],
      );
      const f = valuePortfolio(rows);
      return { total_value: f.total_value, daily_change: f.daily_change, daily_change_percent: f.daily_change_percent };
    };
    for (const id of [10, 20, 30]) expect(engine.valuation(id)).toMatchObject(await recount(id));
    // 0.1 × 420.5 + 3 × 0.1 + 0.00000001 × 63250.12345678
    expect(engine.valuation(10)).toMatchObject({ total_value: '42.3506325012345678', positions_count: 3, as_of: t2.toISOString(), stale: true });
    expect(engine.valuation(20)).toMatchObject({ total_value: '63250123456780000', stale: true });
    await ds.query(`UPDATE positions SET quantity = 2 WHERE portfolio_id = 10 AND asset_id = (SELECT id FROM assets WHERE symbol = 'AAPL')`);
    const v = await engine.reload(10, false, (id) => holdings.portfolio(id));
    expect(v).toMatchObject({ positions_count: 3, ...(await recount(10)) });
  });

  it('the constraint helpers recognise the server’s own violations through TypeORM, and never call them outages', async () => {
    const dup = await ds.query(`INSERT INTO portfolios (owner_id, name) VALUES (1, 'First')`).catch((e: unknown) => e);
    expect(pgErrorCode(dup)).toBe('23505');
    expect(isUniqueViolation(dup)).toBe(true);
    expect(isForeignKeyViolation(dup)).toBe(false);
    expect(isTransientDbError(dup)).toBe(false);
    const orphan = await ds
      .query(`INSERT INTO positions (portfolio_id, asset_id, quantity, average_cost) SELECT 12345, id, 1, 1 FROM assets WHERE symbol = 'AAPL'`)
      .catch((e: unknown) => e);
    expect(pgErrorCode(orphan)).toBe('23503');
    expect(isForeignKeyViolation(orphan)).toBe(true);
    expect(isUniqueViolation(orphan)).toBe(false);
    const check = await ds.query(`UPDATE positions SET quantity = -1 WHERE portfolio_id = 10`).catch((e: unknown) => e);
    expect(pgErrorCode(check)).toBe('23514');
    expect(isUniqueViolation(check) || isForeignKeyViolation(check)).toBe(false);
  });
});
