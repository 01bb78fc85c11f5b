import type { PortfolioPositionData, PortfolioUpdateData } from './protocol';

/**
 * Keeps a live holdings table from `portfolio_update` pushes (option `portfolio_positions`):
 * a push with `positions_complete: true` replaces the table, any other one updates the rows it
 * lists. Returns the table (by symbol, in the server's position order after a complete push).
 * A push without `positions` leaves it as it is.
 *
 * ```ts
 * const table = new Map<string, PortfolioPositionData>();
 * client.on('portfolio_update', (u) => render(applyPositions(table, u)));
 * ```
 */
export function applyPositions(table: Map<string, PortfolioPositionData>, update: PortfolioUpdateData): Map<string, PortfolioPositionData> {
  if (!update.positions) return table;
  if (update.positions_complete) table.clear();
  for (const p of update.positions) table.set(p.symbol, p);
  return table;
}
