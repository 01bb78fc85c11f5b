import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { trimZeros } from '../../database/decimal.transformer';
import type { DailySnapshot } from '../ledger/daily-snapshots';

/** A portfolio's updated_at to the microsecond (what the stored days are checked against), as SQL. */
export const UPDATED_STAMP = `(extract(epoch from updated_at) * 1000000)::bigint::text`;

interface DailyValueRow {
  day: string;
  value: string;
  cost_basis: string;
  cash: string;
  net_flows: string;
  flow: string;
}

/**
 * The stored value history (table portfolio_daily_values, see its migration): raw SQL, one
 * statement per call, every amount a decimal string.
 */
@Injectable()
export class DailyValuesStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The stored days of [from, to], in order. */
  async read(portfolioId: number, from: string, to: string): Promise<DailySnapshot[]> {
    const rows = (await this.db.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, value, cost_basis, cash, net_flows, flow
         FROM portfolio_daily_values WHERE portfolio_id = $1 AND day BETWEEN $2::date AND $3::date ORDER BY day`,
      [portfolioId, from, to],
    )) as DailyValueRow[];
    return rows.map((r) => ({
      date: r.day,
      value: trimZeros(String(r.value)),
      cost: trimZeros(String(r.cost_basis)),
      cash: trimZeros(String(r.cash)),
      netFlows: trimZeros(String(r.net_flows)),
      flow: trimZeros(String(r.flow)),
    }));
  }

  /**
   * Stores these days (replacing what is stored for them), in one statement, unless the portfolio
   * changed since they were computed: `stamp` is its updated_at then (UPDATED_STAMP) (every ledger change and every
   * change of base currency moves it). The statement waits for a change under way (the ledger's
   * FOR UPDATE lock on the portfolio row) and then sees its new updated_at, so days computed from
   * transactions that are no longer current are never stored.
   */
  async write(portfolioId: number, days: readonly DailySnapshot[], stamp: string): Promise<void> {
    if (days.length === 0) return;
    await this.db.query(
      `INSERT INTO portfolio_daily_values (portfolio_id, day, value, cost_basis, cash, net_flows, flow)
       SELECT $1, d.day, d.value, d.cost_basis, d.cash, d.net_flows, d.flow
         FROM unnest($2::date[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[])
              AS d(day, value, cost_basis, cash, net_flows, flow)
        WHERE EXISTS (SELECT 1 FROM portfolios WHERE id = $1 AND ${UPDATED_STAMP} = $8 FOR SHARE)
       ON CONFLICT (portfolio_id, day) DO UPDATE
         SET value = EXCLUDED.value, cost_basis = EXCLUDED.cost_basis, cash = EXCLUDED.cash,
             net_flows = EXCLUDED.net_flows, flow = EXCLUDED.flow`,
      [
        portfolioId,
        days.map((d) => d.date),
        days.map((d) => d.value),
        days.map((d) => d.cost),
        days.map((d) => d.cash),
        days.map((d) => d.netFlows),
        days.map((d) => d.flow),
        stamp,
      ],
    );
  }

  /** Forgets the stored days from `from` on (all of them without `from`); `em`: inside that database transaction. */
  async forget(portfolioId: number, from: string | null, em: EntityManager = this.db.manager): Promise<void> {
    if (from === null) await em.query(`DELETE FROM portfolio_daily_values WHERE portfolio_id = $1`, [portfolioId]);
    else await em.query(`DELETE FROM portfolio_daily_values WHERE portfolio_id = $1 AND day >= $2::date`, [portfolioId, from]);
  }

  /** The last stored day of each portfolio that has stored days. */
  async lastDays(): Promise<Map<number, string>> {
    const rows = (await this.db.query(`SELECT portfolio_id, to_char(max(day), 'YYYY-MM-DD') AS day FROM portfolio_daily_values GROUP BY portfolio_id`)) as {
      portfolio_id: number;
      day: string;
    }[];
    return new Map(rows.map((r) => [r.portfolio_id, r.day]));
  }
}
