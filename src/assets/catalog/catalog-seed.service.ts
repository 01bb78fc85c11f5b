import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { hashPassword } from '../../auth/passwords';
import { MessageBus } from '../../bus/message-bus';
import { AppConfig } from '../../config/app-config';
import { AssetCatalogService } from '../asset-catalog.service';
import { CatalogEntry, loadCatalog } from './catalog';

/** Key of the PostgreSQL advisory lock that serialises seeding between processes. */
const SEED_LOCK_KEY = 7_264_130_001;

/** Provide this token (value `true`) to stop the automatic seeding at start-up (the CLI does). */
export const SKIP_STARTUP_SEED = Symbol('SKIP_STARTUP_SEED');

export const DEMO_USERNAME = 'demo';
export const DEMO_PORTFOLIO_NAME = 'Demo Portfolio';

/** The demo portfolio's positions (symbol, quantity, average cost). */
export const DEMO_POSITIONS: ReadonlyArray<{ symbol: string; quantity: string; average_cost: string }> = [
  { symbol: 'AAPL', quantity: '50', average_cost: '150.25' },
  { symbol: 'MSFT', quantity: '30', average_cost: '310.10' },
  { symbol: 'GOOGL', quantity: '40', average_cost: '128.40' },
  { symbol: 'SPY', quantity: '20', average_cost: '445.00' },
  { symbol: 'VTI', quantity: '25', average_cost: '221.35' },
  { symbol: 'BTC-USD', quantity: '0.5', average_cost: '42000' },
  { symbol: 'ETH-USD', quantity: '4', average_cost: '2210.5' },
];

export interface SeedOptions {
  /** Load the catalog only when the assets table is empty (start-up); otherwise add any missing symbols. */
  onlyIfEmpty?: boolean;
}

export interface SeedReport {
  catalogSize: number;
  /** Symbols inserted by this run. */
  assetsInserted: string[];
  /** Catalog symbols that were already present (or skipped because the table was not empty at start-up). */
  assetsExisting: number;
  /** What happened to the demo user. */
  demo: 'created' | 'exists' | 'disabled' | 'no-password' | 'skipped';
  demoPortfolioId?: number;
  demoPositions?: number;
}

/**
 * Loads the shipped catalog into the assets table and creates the demo user
 * with its portfolio. One transaction, serialised between processes by a
 * PostgreSQL advisory lock, idempotent (ON CONFLICT everywhere).
 *
 * At start-up (onModuleInit, before any onApplicationBootstrap) it runs with
 * `onlyIfEmpty`; `npm run seed` runs it without.
 */
@Injectable()
export class CatalogSeedService implements OnModuleInit {
  private readonly logger = new Logger('Seed');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly catalog: AssetCatalogService,
    private readonly bus: MessageBus,
    @Optional() @Inject(SKIP_STARTUP_SEED) private readonly skipStartup?: boolean,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.skipStartup) return;
    const r = await this.seed({ onlyIfEmpty: true });
    if (r.assetsInserted.length > 0) this.logger.log(`Loaded ${r.assetsInserted.length} catalog symbols into an empty database`);
    if (r.demo === 'created') this.logger.log(`Created demo user "${DEMO_USERNAME}" with portfolio "${DEMO_PORTFOLIO_NAME}"`);
  }

  async seed(opts: SeedOptions = {}): Promise<SeedReport> {
    const entries = loadCatalog();
    const wantDemo = this.config.seedDemo;
    const password = this.config.demoPassword;
    // Hash outside the transaction (tens of ms); unused when the demo user exists.
    const hash = wantDemo && password ? await hashPassword(password) : undefined;

    const report = await this.db.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK_KEY]);
      const [{ count }] = (await em.query('SELECT count(*)::int AS count FROM assets')) as { count: number }[];
      const r: SeedReport = { catalogSize: entries.length, assetsInserted: [], assetsExisting: 0, demo: 'skipped' };
      if (opts.onlyIfEmpty && count > 0) {
        r.assetsExisting = entries.length;
        return r;
      }
      r.assetsInserted = await this.insertAssets(em, entries);
      r.assetsExisting = entries.length - r.assetsInserted.length;
      if (!wantDemo) r.demo = 'disabled';
      else if (!hash) r.demo = 'no-password';
      else await this.createDemo(em, hash, r);
      return r;
    });

    if (report.assetsInserted.length > 0) this.catalog.invalidate();
    if (report.demo === 'created' && report.demoPortfolioId) {
      const [owner] = (await this.db.query('SELECT owner_id FROM portfolios WHERE id = $1', [report.demoPortfolioId])) as { owner_id: number }[];
      if (owner) await this.bus.publish('portfolio.changed', { portfolio_id: report.demoPortfolioId, owner_id: owner.owner_id });
    }
    return report;
  }

  private async insertAssets(em: EntityManager, entries: readonly CatalogEntry[]): Promise<string[]> {
    const rows = (await em.query(
      `INSERT INTO assets (symbol, name, asset_type, currency, exchange, current_price, previous_close, last_updated, source)
       SELECT s, n, t, c, x, p, p, NULL, 'catalog'
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[]) AS v(s, n, t, c, x, p)
       ON CONFLICT (symbol) DO NOTHING
       RETURNING symbol`,
      [
        entries.map((e) => e.symbol),
        entries.map((e) => e.name),
        entries.map((e) => e.asset_type),
        entries.map((e) => e.currency),
        entries.map((e) => e.exchange),
        entries.map((e) => e.reference_price),
      ],
    )) as { symbol: string }[];
    return rows.map((r) => r.symbol);
  }

  private async createDemo(em: EntityManager, hash: string, r: SeedReport): Promise<void> {
    const users = (await em.query(
      `INSERT INTO users (username, password_hash, is_staff) VALUES ($1, $2, false)
       ON CONFLICT (username) DO NOTHING RETURNING id`,
      [DEMO_USERNAME, hash],
    )) as { id: number }[];
    if (users.length === 0) {
      r.demo = 'exists';
      return;
    }
    const [portfolio] = (await em.query(
      `INSERT INTO portfolios (owner_id, name, description, base_currency)
       VALUES ($1, $2, 'Created by the seed: a few stocks, two ETFs and two crypto pairs.', 'USD') RETURNING id`,
      [users[0].id, DEMO_PORTFOLIO_NAME],
    )) as { id: number }[];
    const positions = (await em.query(
      `INSERT INTO positions (portfolio_id, asset_id, quantity, average_cost)
       SELECT $1, a.id, v.q, v.c
       FROM unnest($2::text[], $3::numeric[], $4::numeric[]) AS v(s, q, c)
       JOIN assets a ON a.symbol = v.s
       ON CONFLICT (portfolio_id, asset_id) DO NOTHING
       RETURNING id`,
      [portfolio.id, DEMO_POSITIONS.map((p) => p.symbol), DEMO_POSITIONS.map((p) => p.quantity), DEMO_POSITIONS.map((p) => p.average_cost)],
    )) as { id: number }[];
    // Its ledger: one opening BUY per position, 20 days back: inside the 30 days of daily closes the feed
    // backfills (PRICE_BACKFILL_DAYS), so every day of the demo's value history has a close. Positions are
    // derived from these from now on.
    await em.query(
      `INSERT INTO transactions (portfolio_id, type, asset_id, quantity, price, fee, currency, date, note)
       SELECT pos.portfolio_id, 'BUY', pos.asset_id, pos.quantity, pos.average_cost, 0,
              CASE WHEN a.currency ~ '^[A-Z]{3}$' THEN a.currency ELSE 'USD' END,
              (now() AT TIME ZONE 'UTC')::date - 20, 'Opening position'
         FROM positions pos JOIN assets a ON a.id = pos.asset_id
        WHERE pos.portfolio_id = $1 AND pos.quantity > 0
        ORDER BY pos.id`,
      [portfolio.id],
    );
    r.demo = 'created';
    r.demoPortfolioId = portfolio.id;
    r.demoPositions = positions.length;
  }
}
