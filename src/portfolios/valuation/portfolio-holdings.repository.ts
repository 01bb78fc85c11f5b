import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { HoldingRow } from './valuation-engine';

/**
 * The portfolios ⟕ positions ⟕ assets reads of the live valuation engine: every portfolio
 * at start-up, one portfolio on a reload. A portfolio without positions is one row with
 * symbol and quantity null. Each method is one statement and returns the query's own
 * promise (no extra async step, so reload ordering is that of the bare query).
 */
@Injectable()
export class PortfolioHoldingsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Every portfolio with its positions, ordered by portfolio then position (what ValuationEngine.load expects). */
  all(): Promise<HoldingRow[]> {
    return this.db.query(
      `SELECT p.id AS portfolio_id, p.owner_id, p.name, p.base_currency, a.symbol, a.currency, pos.quantity
         FROM portfolios p
         LEFT JOIN positions pos ON pos.portfolio_id = p.id
         LEFT JOIN assets a ON a.id = pos.asset_id
        ORDER BY p.id, pos.id`,
    ) as Promise<HoldingRow[]>;
  }

  /** One portfolio with its positions and their assets' prices, ordered by position; [] when it does not exist. */
  portfolio(portfolioId: number): Promise<HoldingRow[]> {
    return this.db.query(
      `SELECT p.id AS portfolio_id, p.owner_id, p.name, p.base_currency, a.symbol, a.currency, pos.quantity,
              a.current_price, a.previous_close, a.last_updated
         FROM portfolios p
         LEFT JOIN positions pos ON pos.portfolio_id = p.id
         LEFT JOIN assets a ON a.id = pos.asset_id
        WHERE p.id = $1
        ORDER BY pos.id`,
      [portfolioId],
    ) as Promise<HoldingRow[]>;
  }
}
