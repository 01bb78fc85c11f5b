import { BadRequestException, ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { MessageBus } from '../bus/message-bus';
import { AppConfig } from '../config/app-config';
import { isUniqueViolation } from '../database/db-errors';
import { trimZeros } from '../database/decimal.transformer';
import { CreatePortfolioDto, CreatePositionDto, UpdatePortfolioDto, UpdatePositionDto } from './dto/portfolios.dto';
import { Portfolio } from './entities/portfolio.entity';
import type { PortfolioList, PositionList } from '../common/api-types';
import { DailyValuesService } from './daily-values/daily-values.service';
import { FxPairRow, FxQuotes, needsFx, PortfolioJson, PortfolioRow, PositionJson, PositionRow, toPortfolioJson } from './portfolio.json';
import { PortfolioLedgerService } from './transactions/portfolio-ledger.service';
import { defaultCurrency, utcDate } from './transactions/transaction-rules';

/** The asset of a legacy position call. */
interface LegacyAsset {
  id: number;
  symbol: string;
  currency: string;
}

const POSITION_COLUMNS = `pos.id, pos.portfolio_id, pos.quantity, pos.average_cost, pos.created_at, pos.updated_at,
  a.symbol, a.name, a.asset_type, a.currency, a.current_price, a.previous_close, a.last_updated`;
const PORTFOLIO_COLUMNS = 'id, owner_id, name, description, base_currency, created_at, updated_at';

/**
 * Portfolios and positions of one owner. Callers have already checked
 * ownership (PortfolioOwnerGuard → PortfolioAccessService); every write still
 * names the owner/portfolio in its WHERE clause. After each committed change
 * it publishes 'portfolio.changed' so the live valuation and sockets follow.
 * Positions are derived from the portfolio's transactions: the position
 * endpoints change transactions through PortfolioLedgerService (which replays
 * them, rewrites the positions and publishes), see docs/api.md "Transactions".
 */
@Injectable()
export class PortfoliosService {
  private readonly logger = new Logger('Portfolios');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bus: MessageBus,
    private readonly config: AppConfig,
    private readonly ledger: PortfolioLedgerService,
    private readonly dailyValues: DailyValuesService,
  ) {}

  async list(ownerId: number): Promise<PortfolioList> {
    const portfolios = (await this.db.query(`SELECT ${PORTFOLIO_COLUMNS} FROM portfolios WHERE owner_id = $1 ORDER BY id`, [ownerId])) as PortfolioRow[];
    const rows = portfolios.length
      ? ((await this.db.query(
          `SELECT ${POSITION_COLUMNS} FROM positions pos JOIN assets a ON a.id = pos.asset_id
            WHERE pos.portfolio_id = ANY($1::int[]) ORDER BY pos.id`,
          [portfolios.map((p) => p.id)],
        )) as PositionRow[])
      : [];
    const byPortfolio = new Map<number, PositionRow[]>(portfolios.map((p) => [p.id, []]));
    for (const r of rows) byPortfolio.get(r.portfolio_id)!.push(r);
    const now = Date.now();
    const fx = portfolios.some((p) => needsFx(p.base_currency, byPortfolio.get(p.id)!)) ? await this.fxQuotes() : undefined;
    const items = portfolios.map((p) => toPortfolioJson(p, byPortfolio.get(p.id)!, { ...this.jsonOpts(false, now), fx }));
    return { items, total: items.length };
  }

  async detail(portfolio: Portfolio): Promise<PortfolioJson> {
    const [p] = (await this.db.query(`SELECT ${PORTFOLIO_COLUMNS} FROM portfolios WHERE id = $1`, [portfolio.id])) as PortfolioRow[];
    if (!p) throw new NotFoundException(`Portfolio ${portfolio.id} not found`);
    const rows = await this.positionRows(p.id);
    const fx = needsFx(p.base_currency, rows) ? await this.fxQuotes() : undefined;
    return toPortfolioJson(p, rows, { ...this.jsonOpts(true, Date.now()), fx });
  }

  async positions(portfolio: Portfolio): Promise<PositionList> {
    const json = await this.detail(portfolio);
    return { items: json.positions!, total: json.positions!.length };
  }

  async create(ownerId: number, dto: CreatePortfolioDto): Promise<PortfolioJson> {
    const rows = (await this.db.query(
      `INSERT INTO portfolios (owner_id, name, description, base_currency) VALUES ($1, $2, $3, $4)
       ON CONFLICT (owner_id, name) DO NOTHING RETURNING ${PORTFOLIO_COLUMNS}`,
      [ownerId, dto.name, dto.description ?? '', dto.base_currency ?? 'USD'],
    )) as PortfolioRow[];
    if (rows.length === 0) throw new ConflictException(`You already have a portfolio named "${dto.name}"`);
    await this.changed(rows[0].id, ownerId);
    return toPortfolioJson(rows[0], [], this.jsonOpts(true, Date.now()));
  }

  async update(portfolio: Portfolio, dto: UpdatePortfolioDto): Promise<PortfolioJson> {
    if (dto.name === undefined && dto.description === undefined && dto.base_currency === undefined) {
      throw new BadRequestException('Nothing to update: send name, description or base_currency');
    }
    try {
      await this.db.query(
        `UPDATE portfolios SET name = COALESCE($3, name), description = COALESCE($4, description),
                base_currency = COALESCE($5, base_currency), updated_at = now()
          WHERE id = $1 AND owner_id = $2`,
        [portfolio.id, portfolio.ownerId, dto.name ?? null, dto.description ?? null, dto.base_currency ?? null],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictException(`You already have a portfolio named "${dto.name}"`);
      throw err;
    }
    await this.changed(portfolio.id, portfolio.ownerId);
    if (dto.base_currency !== undefined && dto.base_currency !== portfolio.baseCurrency) {
      // Every stored day is in the old currency.
      await this.dailyValues.forget(this.db.manager, portfolio.id, null);
      this.dailyValues.backfill({ ...portfolio, baseCurrency: dto.base_currency } as Portfolio, null);
    }
    return this.detail(portfolio);
  }

  async remove(portfolio: Portfolio): Promise<void> {
    const [, count] = (await this.db.query(`DELETE FROM portfolios WHERE id = $1 AND owner_id = $2`, [portfolio.id, portfolio.ownerId])) as [unknown[], number];
    if (count === 0) throw new NotFoundException(`Portfolio ${portfolio.id} not found`);
    await this.changed(portfolio.id, portfolio.ownerId, true);
  }

  /**
   * Legacy: records an opening BUY of `quantity` at `average_cost`, dated today (UTC); the position
   * is then derived from the ledger like every other (PortfolioLedgerService).
   */
  async addPosition(portfolio: Portfolio, dto: CreatePositionDto): Promise<PositionJson> {
    const { value: assetId } = await this.ledger.change(portfolio, async ({ em, created }) => {
      const asset = await this.assetOf(em, dto.symbol);
      const [existing] = (await em.query(`SELECT id FROM positions WHERE portfolio_id = $1 AND asset_id = $2`, [portfolio.id, asset.id])) as { id: number }[];
      if (existing) throw new ConflictException(`This portfolio already holds ${dto.symbol}: change position ${existing.id} with PATCH instead`);
      created(await this.insertBuy(em, portfolio, asset, dto.quantity, dto.average_cost, utcDate(), 'Opening position'));
      return asset.id;
    });
    return this.positionJson(portfolio, await this.positionIdOf(portfolio.id, assetId));
  }

  /**
   * Legacy: replaces every transaction of the position's symbol by one BUY of the new quantity at
   * the new average cost (what is not sent stays), dated on the symbol's first transaction.
   */
  async updatePosition(portfolio: Portfolio, positionId: number, dto: UpdatePositionDto): Promise<PositionJson> {
    if (dto.quantity === undefined && dto.average_cost === undefined) {
      throw new BadRequestException('Nothing to update: send quantity and/or average_cost');
    }
    await this.ledger.change(portfolio, async ({ em, created }) => {
      const [pos] = (await em.query(
        `SELECT pos.quantity, pos.average_cost, a.id, a.symbol, a.currency FROM positions pos JOIN assets a ON a.id = pos.asset_id
          WHERE pos.id = $1 AND pos.portfolio_id = $2`,
        [positionId, portfolio.id],
      )) as ({ quantity: string; average_cost: string } & LegacyAsset)[];
      if (!pos) throw new NotFoundException(`Position ${positionId} not found`);
      const [first] = (await em.query(`SELECT to_char(min(date), 'YYYY-MM-DD') AS date FROM transactions WHERE portfolio_id = $1 AND asset_id = $2`, [
        portfolio.id,
        pos.id,
      ])) as { date: string | null }[];
      await em.query(`DELETE FROM transactions WHERE portfolio_id = $1 AND asset_id = $2`, [portfolio.id, pos.id]);
      const quantity = dto.quantity ?? trimZeros(pos.quantity);
      const averageCost = dto.average_cost ?? trimZeros(pos.average_cost);
      created(await this.insertBuy(em, portfolio, pos, quantity, averageCost, first?.date ?? utcDate(), 'Position set (PATCH positions)'));
    });
    return this.positionJson(portfolio, positionId);
  }

  /** Legacy: deletes every transaction of the position's symbol (so the position goes). */
  async removePosition(portfolio: Portfolio, positionId: number): Promise<void> {
    await this.ledger.change(portfolio, async ({ em }) => {
      const [pos] = (await em.query(`SELECT asset_id FROM positions WHERE id = $1 AND portfolio_id = $2`, [positionId, portfolio.id])) as {
        asset_id: number;
      }[];
      if (!pos) throw new NotFoundException(`Position ${positionId} not found`);
      await em.query(`DELETE FROM transactions WHERE portfolio_id = $1 AND asset_id = $2`, [portfolio.id, pos.asset_id]);
    });
  }

  private async assetOf(em: EntityManager, symbol: string): Promise<LegacyAsset> {
    const [asset] = (await em.query(`SELECT id, symbol, currency FROM assets WHERE symbol = $1`, [symbol])) as LegacyAsset[];
    if (!asset) throw new BadRequestException(`Unknown symbol ${symbol}`);
    return asset;
  }

  /** The BUY a legacy position endpoint records; a BUY needs a price above 0. */
  private async insertBuy(
    em: EntityManager,
    portfolio: Portfolio,
    asset: LegacyAsset,
    quantity: string,
    price: string,
    date: string,
    note: string,
  ): Promise<number> {
    if (!(Number(price) > 0)) {
      throw new BadRequestException(
        `average_cost must be greater than 0: a position is recorded as a BUY at that price (send ${asset.symbol}'s cost per share)`,
      );
    }
    const [row] = (await em.query(
      `INSERT INTO transactions (portfolio_id, type, asset_id, quantity, price, fee, currency, date, note)
       VALUES ($1, 'BUY', $2, $3, $4, 0, $5, $6, $7) RETURNING id`,
      [portfolio.id, asset.id, quantity, price, defaultCurrency(asset.currency, portfolio.baseCurrency), date, note],
    )) as { id: number }[];
    return row.id;
  }

  private async positionIdOf(portfolioId: number, assetId: number): Promise<number> {
    const [row] = (await this.db.query(`SELECT id FROM positions WHERE portfolio_id = $1 AND asset_id = $2`, [portfolioId, assetId])) as { id: number }[];
    if (!row) throw new NotFoundException(`Portfolio ${portfolioId} has no position in that asset`);
    return row.id;
  }

  // ------------------------------------------------------------------------

  private async positionRows(portfolioId: number): Promise<PositionRow[]> {
    return (await this.db.query(
      `SELECT ${POSITION_COLUMNS} FROM positions pos JOIN assets a ON a.id = pos.asset_id WHERE pos.portfolio_id = $1 ORDER BY pos.id`,
      [portfolioId],
    )) as PositionRow[];
  }

  private async positionJson(portfolio: Portfolio, positionId: number): Promise<PositionJson> {
    const json = await this.detail(portfolio);
    const pos = json.positions!.find((p) => p.id === positionId);
    if (!pos) throw new NotFoundException(`Position ${positionId} not found`);
    return pos;
  }

  /** The exchange-rate pairs, for portfolios with positions in other currencies than their base. */
  private async fxQuotes(): Promise<FxQuotes> {
    return new FxQuotes(
      (await this.db.query(`SELECT symbol, current_price, previous_close, last_updated FROM assets WHERE asset_type = 'FOREX'`)) as FxPairRow[],
    );
  }

  private jsonOpts(withPositions: boolean, nowMs: number) {
    return { withPositions, nowMs, updateIntervalSeconds: this.config.REALTIME_UPDATE_INTERVAL };
  }

  /** Tells the valuation engine and the realtime hub (on every instance) after commit. Never fails the request. */
  private async changed(portfolioId: number, ownerId: number, deleted = false): Promise<void> {
    try {
      await this.bus.publish(
        'portfolio.changed',
        deleted ? { portfolio_id: portfolioId, owner_id: ownerId, deleted: true } : { portfolio_id: portfolioId, owner_id: ownerId },
      );
    } catch (err) {
      this.logger.warn(`Could not publish portfolio.changed for ${portfolioId}: ${(err as Error).message}`);
    }
  }
}
