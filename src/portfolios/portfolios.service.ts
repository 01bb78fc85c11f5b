import { BadRequestException, ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { MessageBus } from '../bus/message-bus';
import { AppConfig } from '../config/app-config';
import { isForeignKeyViolation, isUniqueViolation } from '../database/db-errors';
import { CreatePortfolioDto, CreatePositionDto, UpdatePortfolioDto, UpdatePositionDto } from './dto/portfolios.dto';
import { Portfolio } from './entities/portfolio.entity';
import type { PortfolioList, PositionList } from '../common/api-types';
import { PortfolioJson, PortfolioRow, PositionJson, PositionRow, toPortfolioJson } from './portfolio.json';

const POSITION_COLUMNS = `pos.id, pos.portfolio_id, pos.quantity, pos.average_cost, pos.created_at, pos.updated_at,
  a.symbol, a.name, a.asset_type, a.currency, a.current_price, a.previous_close, a.last_updated`;
const PORTFOLIO_COLUMNS = 'id, owner_id, name, description, base_currency, created_at, updated_at';

/**
 * Portfolios and positions of one owner. Callers have already checked
 * ownership (PortfolioOwnerGuard → PortfolioAccessService); every write still
 * names the owner/portfolio in its WHERE clause. After each committed change
 * it publishes 'portfolio.changed' so the live valuation and sockets follow.
 */
@Injectable()
export class PortfoliosService {
  private readonly logger = new Logger('Portfolios');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bus: MessageBus,
    private readonly config: AppConfig,
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
    const items = portfolios.map((p) => toPortfolioJson(p, byPortfolio.get(p.id)!, this.jsonOpts(false, now)));
    return { items, total: items.length };
  }

  async detail(portfolio: Portfolio): Promise<PortfolioJson> {
    const [p] = (await this.db.query(`SELECT ${PORTFOLIO_COLUMNS} FROM portfolios WHERE id = $1`, [portfolio.id])) as PortfolioRow[];
    if (!p) throw new NotFoundException(`Portfolio ${portfolio.id} not found`);
    return toPortfolioJson(p, await this.positionRows(p.id), this.jsonOpts(true, Date.now()));
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
    return this.detail(portfolio);
  }

  async remove(portfolio: Portfolio): Promise<void> {
    const [, count] = (await this.db.query(`DELETE FROM portfolios WHERE id = $1 AND owner_id = $2`, [portfolio.id, portfolio.ownerId])) as [unknown[], number];
    if (count === 0) throw new NotFoundException(`Portfolio ${portfolio.id} not found`);
    await this.changed(portfolio.id, portfolio.ownerId, true);
  }

  async addPosition(portfolio: Portfolio, dto: CreatePositionDto): Promise<PositionJson> {
    const positionId = await this.db.transaction(async (em) => {
      const [asset] = (await em.query(`SELECT id FROM assets WHERE symbol = $1`, [dto.symbol])) as { id: number }[];
      if (!asset) throw new BadRequestException(`Unknown symbol ${dto.symbol}`);
      let rows: { id: number }[];
      try {
        rows = (await em.query(
          `INSERT INTO positions (portfolio_id, asset_id, quantity, average_cost) VALUES ($1, $2, $3, $4)
           ON CONFLICT (portfolio_id, asset_id) DO NOTHING RETURNING id`,
          [portfolio.id, asset.id, dto.quantity, dto.average_cost],
        )) as { id: number }[];
      } catch (err) {
        if (isForeignKeyViolation(err)) throw new NotFoundException(`Portfolio ${portfolio.id} not found`);
        throw err;
      }
      if (rows.length === 0) {
        const [existing] = (await em.query(`SELECT id FROM positions WHERE portfolio_id = $1 AND asset_id = $2`, [portfolio.id, asset.id])) as { id: number }[];
        throw new ConflictException(`This portfolio already holds ${dto.symbol}: change position ${existing?.id} with PATCH instead`);
      }
      await this.touch(em, portfolio.id);
      return rows[0].id;
    });
    await this.changed(portfolio.id, portfolio.ownerId);
    return this.positionJson(portfolio, positionId);
  }

  async updatePosition(portfolio: Portfolio, positionId: number, dto: UpdatePositionDto): Promise<PositionJson> {
    if (dto.quantity === undefined && dto.average_cost === undefined) {
      throw new BadRequestException('Nothing to update: send quantity and/or average_cost');
    }
    await this.db.transaction(async (em) => {
      const [, count] = (await em.query(
        `UPDATE positions SET quantity = COALESCE($3::numeric, quantity), average_cost = COALESCE($4::numeric, average_cost), updated_at = now()
          WHERE id = $1 AND portfolio_id = $2`,
        [positionId, portfolio.id, dto.quantity ?? null, dto.average_cost ?? null],
      )) as [unknown[], number];
      if (count === 0) throw new NotFoundException(`Position ${positionId} not found`);
      await this.touch(em, portfolio.id);
    });
    await this.changed(portfolio.id, portfolio.ownerId);
    return this.positionJson(portfolio, positionId);
  }

  async removePosition(portfolio: Portfolio, positionId: number): Promise<void> {
    await this.db.transaction(async (em) => {
      const [, count] = (await em.query(`DELETE FROM positions WHERE id = $1 AND portfolio_id = $2`, [positionId, portfolio.id])) as [unknown[], number];
      if (count === 0) throw new NotFoundException(`Position ${positionId} not found`);
      await this.touch(em, portfolio.id);
    });
    await this.changed(portfolio.id, portfolio.ownerId);
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

  private jsonOpts(withPositions: boolean, nowMs: number) {
    return { withPositions, nowMs, updateIntervalSeconds: this.config.REALTIME_UPDATE_INTERVAL };
  }

  private async touch(em: EntityManager, portfolioId: number): Promise<void> {
    await em.query(`UPDATE portfolios SET updated_at = now() WHERE id = $1`, [portfolioId]);
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
