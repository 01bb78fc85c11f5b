import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { PortfolioHistory, PortfolioPerformance, PerformanceRange } from '../../common/api-types';
import { dec } from '../../common/decimal';
import { trimZeros } from '../../database/decimal.transformer';
import { Portfolio } from '../entities/portfolio.entity';
import { allocation } from '../ledger/allocation';
import { dailySnapshots, type DailySnapshot } from '../ledger/daily-snapshots';
import { dateOf, dayNumber, money, utcToday } from '../ledger/ledger.format';
import { replayLedger, replayUntil } from '../ledger/ledger';
import type { LedgerProblem, LedgerTransaction } from '../ledger/ledger.types';
import { timeWeightedReturn, unrealised, xirr, type DatedFlow } from '../ledger/returns';
import { toLedgerTransaction, TRANSACTION_COLUMNS, type TransactionRow } from '../transactions/portfolio-ledger.service';

export const PERFORMANCE_RANGES = ['1d', '1w', '1m', '3m', 'ytd', '1y', '5y', 'all'] as const;

/** How far back a close is looked for before the first day of a range (weekends, holidays). */
const LOOKBACK_DAYS = 10;

interface AssetFacts {
  type: string;
  currency: string;
  /** The live price (assets.current_price), null when never priced. */
  price: string | null;
}

/**
 * A portfolio's value history and performance, computed from its transactions (the ledger) and
 * the daily closes the feed stores (price_history '1d' bars; today: the live price): one replay
 * pass per request (src/portfolios/ledger), nothing stored. Owner-only through the controller's guard.
 */
@Injectable()
export class PortfolioPerformanceService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async history(p: Portfolio, range: PerformanceRange): Promise<PortfolioHistory> {
    const { txs, today } = await this.transactions(p.id);
    const { from, to } = rangeDates(range, txs, today);
    const days = await this.snapshots(txs, from, to, today);
    return {
      portfolio_id: p.id,
      range,
      from,
      to,
      points: days.map((d) => ({ date: d.date, value: d.value, cost_basis: d.cost, cash: d.cash, net_flows: d.netFlows, flow: d.flow })),
    };
  }

  async performance(p: Portfolio, range: PerformanceRange): Promise<PortfolioPerformance> {
    const { txs, today } = await this.transactions(p.id);
    const { from, to } = rangeDates(range, txs, today);
    const before = dateOf(dayNumber(from)! - 1);
    // The day before the range is the base of its returns.
    const days = await this.snapshots(txs, before, to, today);
    const base = days[0];
    const inRange = days.slice(1);
    const end = inRange.at(-1) ?? base;
    const twr = timeWeightedReturn(
      inRange.map((d) => ({ date: d.date, value: d.value, flow: d.flow })),
      { startValue: base.value },
    );
    // Money-weighted: what was there at the start counts as put in then, every flow as put in or taken out, the end value as taken out.
    const flows: DatedFlow[] = [];
    if (dec(base.value).gt(0)) flows.push({ date: before, amount: dec(base.value).neg().toString() });
    for (const d of inRange) if (!dec(d.flow).isZero()) flows.push({ date: d.date, amount: dec(d.flow).neg().toString() });
    if (dec(end.value).gt(0)) flows.push({ date: end.date, amount: end.value });
    const mwr = xirr(flows);

    const all = replayLedger(txs, { today });
    if (!all.ok) throw ledgerRefused(all.problem);
    const atStart = replayUntil(txs, before, { today });
    if (!atStart.ok) throw ledgerRefused(atStart.problem);
    const r = all.result;
    const facts = await this.assetFacts(r.holdings.map((h) => h.symbol));
    const un = unrealised(r.holdings, (s) => facts.get(s)?.price ?? null);
    const cashSlice = dec(r.cash).gt(0) ? [{ key: 'CASH', currency: 'CASH', type: 'CASH', marketValue: r.cash }] : [];
    const items = [
      ...un.holdings.map((h) => ({
        key: h.symbol,
        currency: facts.get(h.symbol)?.currency ?? 'USD',
        type: facts.get(h.symbol)?.type ?? 'STOCK',
        marketValue: h.marketValue,
      })),
      ...cashSlice,
    ];
    return {
      portfolio_id: p.id,
      range,
      from,
      to,
      start_value: base.value,
      end_value: end.value,
      net_flows: money(dec(end.netFlows).minus(base.netFlows)),
      time_weighted_return: twr.cumulative,
      time_weighted_return_annualised: twr.annualised,
      money_weighted_return: mwr,
      realised_pl: money(dec(r.realisedTotal).minus(atStart.result.realisedTotal)),
      dividends: money(dec(r.dividends).minus(atStart.result.dividends)),
      fees: money(dec(r.fees).minus(atStart.result.fees)),
      unrealised_pl: un.unrealised,
      market_value: un.marketValue,
      cost_basis: un.cost,
      cash: r.cash,
      unpriced: un.unpriced,
      allocation: {
        by_holding: allocation(items, (i) => i.key),
        by_asset_type: allocation(items, (i) => i.type),
        by_currency: allocation(items, (i) => i.currency),
      },
    };
  }

  private async transactions(portfolioId: number): Promise<{ txs: LedgerTransaction[]; today: string }> {
    const rows = (await this.db.query(
      `SELECT ${TRANSACTION_COLUMNS} FROM transactions t LEFT JOIN assets a ON a.id = t.asset_id WHERE t.portfolio_id = $1 ORDER BY t.date, t.id`,
      [portfolioId],
    )) as TransactionRow[];
    return { txs: rows.map((r) => toLedgerTransaction(r, r.id)), today: utcToday() };
  }

  /** Daily snapshots over [from, to]: closes from the '1d' bars, and the live price for today. */
  private async snapshots(txs: LedgerTransaction[], from: string, to: string, today: string): Promise<DailySnapshot[]> {
    const symbols = [...new Set(txs.map((t) => t.symbol).filter((s): s is string => s !== null))];
    const closes = new Map<string, string>();
    if (symbols.length > 0) {
      const rows = (await this.db.query(
        `SELECT a.symbol, to_char(h."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, h.close
           FROM price_history h JOIN assets a ON a.id = h.asset_id
          WHERE h."interval" = '1d' AND a.symbol = ANY($1::text[]) AND h."timestamp" >= $2::date AND h."timestamp" < ($3::date + 1)`,
        [symbols, dateOf(dayNumber(from)! - LOOKBACK_DAYS), to],
      )) as { symbol: string; day: string; close: string }[];
      for (const r of rows) closes.set(`${r.symbol} ${r.day}`, trimZeros(String(r.close)));
      if (to >= today) for (const [s, f] of await this.assetFacts(symbols)) if (f.price !== null) closes.set(`${s} ${today}`, f.price);
    }
    const res = dailySnapshots(txs, (s, d) => closes.get(`${s} ${d}`) ?? null, from, to, { today, lookbackDays: LOOKBACK_DAYS });
    if (!res.ok) throw ledgerRefused(res.problem);
    return res.days;
  }

  private async assetFacts(symbols: string[]): Promise<Map<string, AssetFacts>> {
    if (symbols.length === 0) return new Map();
    const rows = (await this.db.query(`SELECT symbol, asset_type, currency, current_price FROM assets WHERE symbol = ANY($1::text[])`, [symbols])) as {
      symbol: string;
      asset_type: string;
      currency: string;
      current_price: string | null;
    }[];
    return new Map(
      rows.map((r) => [r.symbol, { type: r.asset_type, currency: r.currency, price: r.current_price == null ? null : trimZeros(String(r.current_price)) }]),
    );
  }
}

/** The first and last day of a range (UTC calendar days); `all` starts at the first transaction. */
export function rangeDates(range: PerformanceRange, txs: readonly LedgerTransaction[], today: string): { from: string; to: string } {
  const t = dayNumber(today)!;
  const [y, m, d] = today.split('-').map(Number);
  const monthsBack = (n: number) => {
    const date = new Date(Date.UTC(y, m - 1 - n, d));
    // 31 March − 1 month: the last day of February, not 3 March.
    if (date.getUTCDate() !== d) date.setUTCDate(0);
    return date.toISOString().slice(0, 10);
  };
  let from: string;
  switch (range) {
    case '1d':
      from = today;
      break;
    case '1w':
      from = dateOf(t - 6);
      break;
    case '1m':
      from = monthsBack(1);
      break;
    case '3m':
      from = monthsBack(3);
      break;
    case 'ytd':
      from = `${y}-01-01`;
      break;
    case '1y':
      from = monthsBack(12);
      break;
    case '5y':
      from = monthsBack(60);
      break;
    case 'all':
      from = txs.length > 0 ? txs.reduce((min, x) => (x.date < min ? x.date : min), txs[0].date) : today;
      break;
  }
  return { from: from > today ? today : from, to: today };
}

function ledgerRefused(problem: LedgerProblem): BadRequestException {
  return new BadRequestException({ message: `The ledger of this portfolio cannot be replayed: ${problem.code}`, details: problem });
}
