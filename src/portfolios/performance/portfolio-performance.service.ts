import { BadRequestException, Injectable, Logger, UnprocessableEntityException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { PortfolioHistory, PortfolioPerformance, PerformanceRange } from '../../common/api-types';
import { dec } from '../../common/decimal';
import { trimZeros } from '../../database/decimal.transformer';
import { Portfolio } from '../entities/portfolio.entity';
import { IntradaySeriesService } from '../intraday/intraday-series.service';
import { allocation } from '../ledger/allocation';
import { dailySnapshots, type DailySnapshot } from '../ledger/daily-snapshots';
import { dateOf, dayNumber, money, utcToday } from '../ledger/ledger.format';
import { replayLedger, replayUntil } from '../ledger/ledger';
import type { LedgerHolding, LedgerProblem, LedgerTransaction } from '../ledger/ledger.types';
import { FxRates, localCosts, transactionsInBase, type DatedClose } from '../fx/fx-history';
import { FxPaths } from '../fx/fx-paths';
import { DailyValuesStore, UPDATED_STAMP } from '../daily-values/daily-values.store';
import { timeWeightedReturn, unrealised, xirr, type DatedFlow } from '../ledger/returns';
import { toLedgerTransaction, TRANSACTION_COLUMNS, type TransactionRow } from '../transactions/transaction-rows';

export const PERFORMANCE_RANGES = ['1d', '1w', '1m', '3m', 'ytd', '1y', '5y', 'all'] as const;

/** How far back a close is looked for before the first day of a range (weekends, holidays). */
const LOOKBACK_DAYS = 10;

/** The first day the exchange-rate closes are read from. */
const FIRST_DAY = '1900-01-01';

interface BaseLedger {
  portfolioId: number;
  /** The portfolio's updated_at when its transactions were read (every ledger change moves it): days computed from them are stored only if it has not moved since. */
  stamp: string | null;
  /** As stored (amounts in their own currencies). */
  raw: LedgerTransaction[];
  /** Converted into the base currency. */
  txs: LedgerTransaction[];
  today: string;
  rates: FxRates;
  facts: Map<string, AssetFacts>;
}

interface AssetFacts {
  type: string;
  currency: string;
  /** The live price (assets.current_price), null when never priced. */
  price: string | null;
}

/**
 * A portfolio's value history and performance, computed from its transactions (the ledger) and
 * the daily closes the feed stores (price_history '1d' bars; today: the live price): one replay
 * pass per request (src/portfolios/ledger). The days before today come from the stored value
 * history (portfolio_daily_values, see DailyValuesService) when it holds them all; days computed
 * here are stored for the next read. Owner-only through the controller's guard.
 */
@Injectable()
export class PortfolioPerformanceService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly intraday: IntradaySeriesService,
    private readonly stored: DailyValuesStore,
  ) {}

  private readonly logger = new Logger('PortfolioPerformance');

  /**
   * Computes the days [from, yesterday] of a portfolio's history (from its first transaction when
   * `from` is null or earlier) and stores them (DailyValuesStore.write: not when the portfolio changed
   * meanwhile). Returns how many days it computed. What the daily job and the backfill run.
   */
  async storePastDays(p: Portfolio, from: string | null): Promise<number> {
    const ledger = await this.ledger(p);
    if (ledger.txs.length === 0 || !ledger.stamp) return 0;
    const first = ledger.txs[0].date;
    const start = from === null || from < first ? first : from;
    const yesterday = dateOf(dayNumber(ledger.today)! - 1);
    if (start > yesterday) return 0;
    const days = await this.compute(ledger, start, yesterday);
    await this.stored.write(p.id, days, ledger.stamp);
    return days.length;
  }

  async history(p: Portfolio, range: PerformanceRange): Promise<PortfolioHistory> {
    const ledger = await this.ledger(p);
    const { from, to } = rangeDates(range, ledger.txs, ledger.today);
    const days = await this.snapshots(ledger, from, to);
    return {
      portfolio_id: p.id,
      base_currency: ledger.rates.base,
      range,
      from,
      to,
      points: days.map((d) => ({ date: d.date, value: d.value, cost_basis: d.cost, cash: d.cash, net_flows: d.netFlows, flow: d.flow })),
      ...(range === '1d' ? { intraday: await this.intraday.series(p.id, '1d') } : {}),
    };
  }

  async performance(p: Portfolio, range: PerformanceRange): Promise<PortfolioPerformance> {
    const ledger = await this.ledger(p);
    const { txs, today, rates, facts } = ledger;
    const { from, to } = rangeDates(range, txs, today);
    const before = dateOf(dayNumber(from)! - 1);
    // The day before the range is the base of its returns.
    const days = await this.snapshots(ledger, before, to);
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
    const priceInBase = (s: string): string | null => {
      const f = facts.get(s);
      const rate = f?.price == null ? null : rates.rate(f.currency, today);
      // As the live valuation converts a price: rounded to 8 places.
      return rate === null ? null : money(dec(f!.price).times(rate));
    };
    const un = unrealised(r.holdings, priceInBase);
    const fx = fxEffect(r.holdings, ledger, priceInBase);
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
      base_currency: rates.base,
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
      unrealised_fx_effect: fx,
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

  /**
   * The portfolio's transactions converted into its base currency, with what converting and valuing
   * them needs: the assets' facts and the exchange rates by day. 422 when a currency has no rate.
   */
  private async ledger(p: Portfolio): Promise<BaseLedger> {
    const [stamp] = (await this.db.query(`SELECT ${UPDATED_STAMP} AS stamp FROM portfolios WHERE id = $1`, [p.id])) as { stamp: string }[];
    const rows = (await this.db.query(
      `SELECT ${TRANSACTION_COLUMNS} FROM transactions t LEFT JOIN assets a ON a.id = t.asset_id WHERE t.portfolio_id = $1 ORDER BY t.date, t.id`,
      [p.id],
    )) as TransactionRow[];
    const raw = rows.map((r) => toLedgerTransaction(r, r.id));
    const today = utcToday();
    const symbols = [...new Set(raw.map((t) => t.symbol).filter((s): s is string => s !== null))];
    const facts = await this.assetFacts(symbols);
    const base = p.baseCurrency;
    const currencies = new Set<string>([...raw.map((t) => t.currency), ...[...facts.values()].map((f) => f.currency)]);
    currencies.delete(base);
    let rates = new FxRates(base, new FxPaths(), new Map(), new Map(), today);
    if (currencies.size > 0) {
      const pairs = (await this.db.query(`SELECT symbol, current_price FROM assets WHERE asset_type = 'FOREX'`)) as {
        symbol: string;
        current_price: string | null;
      }[];
      const paths = new FxPaths(pairs.map((r) => r.symbol));
      const needed = new Set<string>();
      for (const c of currencies) {
        const steps = paths.path(c, base);
        if (!steps) throw noRate(c, base);
        for (const s of steps) needed.add(s.symbol);
      }
      const live = new Map<string, string>();
      for (const r of pairs) if (needed.has(r.symbol) && r.current_price != null) live.set(r.symbol, trimZeros(String(r.current_price)));
      const closes = new Map<string, DatedClose[]>();
      for (const r of await this.dailyCloses([...needed], FIRST_DAY, today)) {
        let list = closes.get(r.symbol);
        if (!list) closes.set(r.symbol, (list = []));
        list.push({ day: r.day, close: trimZeros(String(r.close)) });
      }
      rates = new FxRates(base, paths, closes, live, today);
    }
    const converted = transactionsInBase(raw, rates);
    if (!converted.ok) throw noRate(converted.currency, base, converted.date);
    return { portfolioId: p.id, stamp: stamp?.stamp ?? null, raw, txs: converted.txs, today, rates, facts };
  }

  /** Daily '1d' closes of these symbols over [from, to], ordered by symbol and day. */
  private async dailyCloses(symbols: string[], from: string, to: string): Promise<{ symbol: string; day: string; close: string }[]> {
    return (await this.db.query(
      `SELECT a.symbol, to_char(h."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, h.close
         FROM price_history h JOIN assets a ON a.id = h.asset_id
        WHERE h."interval" = '1d' AND a.symbol = ANY($1::text[]) AND h."timestamp" >= $2::date AND h."timestamp" < ($3::date + 1)
        ORDER BY a.symbol, h."timestamp"`,
      [symbols, from, to],
    )) as { symbol: string; day: string; close: string }[];
  }

  /** Daily snapshots over [from, to] in the base currency: closes from the '1d' bars (today: live prices) × that day's rate, rounded to 8 places. */
  private async snapshots(ledger: BaseLedger, from: string, to: string): Promise<DailySnapshot[]> {
    const { txs, today } = ledger;
    // Days before today come from the store when it holds them all; today moves with live prices.
    const yesterday = dateOf(dayNumber(today)! - 1);
    const first = txs.length > 0 ? txs[0].date : today;
    const storedFrom = from > first ? from : first;
    const storedTo = to < yesterday ? to : yesterday;
    if (txs.length > 0 && storedFrom <= storedTo) {
      const want = dayNumber(storedTo)! - dayNumber(storedFrom)! + 1;
      const stored = await this.stored.read(ledger.portfolioId, storedFrom, storedTo);
      if (stored.length === want) {
        const before: DailySnapshot[] = [];
        for (let d = dayNumber(from)!; d < dayNumber(storedFrom)!; d++) before.push(emptyDay(dateOf(d)));
        const after = to > storedTo ? await this.compute(ledger, dateOf(dayNumber(storedTo)! + 1), to) : [];
        return [...before, ...stored, ...after];
      }
      const days = await this.compute(ledger, from, to);
      // Store the past days computed here (the history's next read, and the daily job, find them).
      const past = days.filter((d) => d.date >= storedFrom && d.date <= storedTo);
      if (ledger.stamp)
        void this.stored
          .write(ledger.portfolioId, past, ledger.stamp)
          .catch((err: Error) => this.logger.warn(`Could not store the daily values of portfolio ${ledger.portfolioId}: ${err.message}`));
      return days;
    }
    return this.compute(ledger, from, to);
  }

  /** Daily snapshots over [from, to], computed from the ledger and the closes. */
  private async compute(ledger: BaseLedger, from: string, to: string): Promise<DailySnapshot[]> {
    const { txs, today, rates, facts } = ledger;
    const symbols = [...new Set(txs.map((t) => t.symbol).filter((s): s is string => s !== null))];
    const closes = new Map<string, string>();
    if (symbols.length > 0) {
      for (const r of await this.dailyCloses(symbols, dateOf(dayNumber(from)! - LOOKBACK_DAYS), to))
        closes.set(`${r.symbol} ${r.day}`, trimZeros(String(r.close)));
      if (to >= today) for (const [s, f] of facts) if (f.price !== null) closes.set(`${s} ${today}`, f.price);
    }
    const closeInBase = (s: string, d: string): string | null => {
      const c = closes.get(`${s} ${d}`);
      if (c === undefined) return null;
      const cur = facts.get(s)?.currency ?? rates.base;
      if (cur === rates.base) return c;
      const r = rates.rate(cur, d);
      return r === null ? null : money(dec(c).times(r));
    };
    const res = dailySnapshots(txs, closeInBase, from, to, { today, lookbackDays: LOOKBACK_DAYS });
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

/** The unrealised FX effect of the holdings in other currencies (fx-history.ts): local cost × rate now − base cost. */
function fxEffect(holdings: readonly LedgerHolding[], ledger: BaseLedger, priceInBase: (s: string) => string | null): string {
  const { rates, facts, today } = ledger;
  const currencyOf = (s: string) => facts.get(s)?.currency ?? rates.base;
  const foreign = holdings.filter((h) => currencyOf(h.symbol) !== rates.base && priceInBase(h.symbol) !== null);
  if (foreign.length === 0) return '0';
  const local = localCosts(ledger.raw, currencyOf, rates);
  let total = dec(0);
  for (const h of foreign) {
    const cost = local.get(h.symbol);
    const rate = rates.rate(currencyOf(h.symbol), today);
    if (cost === undefined || rate === null) continue;
    total = total.plus(dec(cost).times(rate).minus(h.cost));
  }
  return money(total);
}

function noRate(currency: string, base: string, date?: string): UnprocessableEntityException {
  return new UnprocessableEntityException({
    message:
      `Amounts in ${currency} cannot be converted into this portfolio's base currency ${base}` +
      (date ? ` (no exchange rate on ${date})` : '') +
      `: the catalog needs a FOREX pair ${currency}${base}, ${base}${currency}, or pairs of both currencies with USD` +
      '. Add the pair as an asset, or change the base currency.',
    details: { code: 'NO_EXCHANGE_RATE', currency, base_currency: base, ...(date ? { date } : {}) },
  });
}

/** A day before the first transaction: nothing held, nothing moved. */
function emptyDay(date: string): DailySnapshot {
  return { date, value: '0', cost: '0', cash: '0', netFlows: '0', flow: '0' };
}
