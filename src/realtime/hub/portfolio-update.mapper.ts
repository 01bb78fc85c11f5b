import { dec, toNumber } from '../../common/decimal';
import type { PortfolioValuation } from '../../portfolios/valuation/valuation.types';
import type { PortfolioUpdateData } from '../protocol/server-messages';

/** PortfolioValuation (decimal strings) -> the guide's portfolio_update data (JSON numbers). */
export function toPortfolioUpdate(v: PortfolioValuation, seq: number): PortfolioUpdateData {
  return {
    portfolio_id: v.portfolio_id,
    name: v.name,
    total_value: toNumber(dec(v.total_value), 8),
    daily_change: toNumber(dec(v.daily_change), 8),
    daily_change_percent: toNumber(dec(v.daily_change_percent), 4),
    positions_count: v.positions_count,
    as_of: v.as_of,
    stale: v.stale,
    seq,
  };
}
