import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * portfolio_daily_values: each portfolio's value history, one row per calendar day (issue 15), in
 * the portfolio's base currency, as GET …/history computes it (src/portfolios/daily-values):
 * holdings at that day's close + cash, cost basis, cash, cumulative net flows and that day's flow.
 *
 * - Written by the daily job (every day at 00:05 UTC: the days up to yesterday), by the backfill
 *   that follows a change of transactions dated in the past, and by history reads that computed
 *   days not stored yet. Today's point is never stored: it moves with live prices.
 * - A change of the portfolio's transactions deletes its rows from the earliest day it affects
 *   (in the change's database transaction); a change of base currency deletes them all.
 * - Amounts have the precision of the money columns (numeric(24,8)); the key serves the reads.
 * - Deleting a portfolio deletes its rows (ON DELETE CASCADE).
 *
 * No entity: only raw SQL reads and writes this table (DailyValuesStore).
 * - up: creates the table (empty: reads and the daily job fill it).
 * - down: drops it.
 */
export class PortfolioDailyValues1764700000000 implements MigrationInterface {
  name = 'PortfolioDailyValues1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE portfolio_daily_values (
        portfolio_id integer NOT NULL,
        day date NOT NULL,
        value numeric(24,8) NOT NULL,
        cost_basis numeric(24,8) NOT NULL,
        cash numeric(24,8) NOT NULL,
        net_flows numeric(24,8) NOT NULL,
        flow numeric(24,8) NOT NULL,
        PRIMARY KEY (portfolio_id, day),
        CONSTRAINT portfolio_daily_values_portfolio_id_fkey FOREIGN KEY (portfolio_id) REFERENCES portfolios(id) ON DELETE CASCADE
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE portfolio_daily_values`);
  }
}
