import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * portfolio_value_points: the intraday value series of each portfolio (issue 15), recorded from the
 * live valuation by IntradayRecorderService (src/portfolios/intraday): one point per recording slot
 * (PORTFOLIO_INTRADAY_INTERVAL, a minute by default) in which the portfolio's total value moved, kept
 * for PORTFOLIO_INTRADAY_DAYS days.
 *
 * - The primary key (portfolio_id, minute) keeps one point per slot however many API instances
 *   record it (they insert with ON CONFLICT DO NOTHING), and serves the per-portfolio reads.
 * - `value` has the precision of the money columns (numeric(24,8)).
 * - A BRIN index on `minute` serves the prune (DELETE … WHERE minute < cutoff): rows arrive in
 *   time order, so it stays a few pages and costs the inserts next to nothing.
 * - Deleting a portfolio deletes its points (ON DELETE CASCADE).
 *
 * No entity: only raw SQL reads and writes this table (IntradaySeriesService), like `session`.
 * - up: creates the table (empty: there is no earlier data to carry over).
 * - down: drops it.
 */
export class PortfolioIntraday1764600000000 implements MigrationInterface {
  name = 'PortfolioIntraday1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE portfolio_value_points (
        portfolio_id integer NOT NULL,
        minute timestamptz NOT NULL,
        value numeric(24,8) NOT NULL,
        PRIMARY KEY (portfolio_id, minute),
        CONSTRAINT portfolio_value_points_portfolio_id_fkey FOREIGN KEY (portfolio_id) REFERENCES portfolios(id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX idx_portfolio_value_points_minute ON portfolio_value_points USING brin (minute)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE portfolio_value_points`);
  }
}
