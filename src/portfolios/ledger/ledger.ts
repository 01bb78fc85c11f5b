/**
 * Replay of a portfolio's transaction ledger (issue 15): pure, synchronous, exact (decimal.js `D`).
 * The meaning of every transaction type is in ledger.types.ts; this file adds:
 *
 * - Order: by `date`, then `seq` (a stable sort, so equal keys keep their input order).
 * - Validation happens in replay order and the FIRST problem is returned (state problems such as
 *   SELL_EXCEEDS_HOLDING depend on the earlier transactions, so there is no separate pre-pass).
 * - Numbers are decimal strings (or finite numbers); "1e3" is accepted, "0x10", "NaN", "" are not.
 * - `fee` (>= 0, null/"" read as 0) on BUY/SELL is part of the cost basis / the sale proceeds. On the
 *   other types it is charged to cash and counted in `fees`, like a FEE transaction (a FEE's own
 *   amount is its `price`). So the identity
 *   value − netFlows = unrealised + realisedTotal + dividends − fees  holds exactly.
 * - Cash never goes below zero: whatever transaction leaves it negative (a BUY, a FEE, a SELL or
 *   DIVIDEND whose fee exceeds its amount) counts the shortfall as an implicit deposit that day.
 *   A WITHDRAWAL is the exception: above the cash held (amount + its fee) it is refused.
 * - A SPLIT's `price` and a DEPOSIT/WITHDRAWAL's `symbol` are ignored, not refused.
 * - Output: money 8 places, quantities 10 places, HALF_UP at output only; internal values are exact
 *   (40 significant digits). `realised` lists every symbol ever bought ("0" when none was sold).
 */
import { D, type Dec } from '../../common/decimal';
import { dayNumber, money, parseDecimal, ratio, utcToday, ZERO } from './ledger.format';
import type { LedgerHolding, LedgerProblem, LedgerReplay, LedgerResult, LedgerTransaction } from './ledger.types';

export interface LedgerOptions {
  /** Transactions dated after this `YYYY-MM-DD` are refused (INVALID 'date'). No check when absent. */
  today?: string;
}

/** One position, exact. Replaced (never mutated) on every change, so a snapshot of the map stays valid. */
export interface LedgerPosition {
  readonly quantity: Dec;
  /** Cost basis, fees included. */
  readonly cost: Dec;
}

/** (date, seq) order of transactions, as the replay uses it. */
export function compareTransactions(a: LedgerTransaction, b: LedgerTransaction): number {
  if (a.date !== b.date) return a.date < b.date ? -1 : 1;
  return a.seq - b.seq;
}

/** A copy of `txs` in replay order. */
export function sortTransactions(txs: readonly LedgerTransaction[]): LedgerTransaction[] {
  return [...txs].sort(compareTransactions);
}

class Refusal {
  constructor(readonly problem: LedgerProblem) {}
}

/**
 * The incremental replay: feed transactions in (date, seq) order with apply(); read the state at
 * any point with snapshot() or the exact getters. A refused transaction leaves the state unchanged.
 */
export class Ledger {
  private readonly pos = new Map<string, LedgerPosition>();
  private readonly realisedBy = new Map<string, Dec>();
  private cashD: Dec = ZERO;
  private netFlowsD: Dec = ZERO;
  private dividendsD: Dec = ZERO;
  private feesD: Dec = ZERO;
  private realisedTotalD: Dec = ZERO;
  private last: LedgerTransaction | null = null;
  private readonly today: string | null;

  constructor(opts: LedgerOptions = {}) {
    if (opts.today !== undefined && dayNumber(opts.today) === null) throw new RangeError(`today must be YYYY-MM-DD, got ${JSON.stringify(opts.today)}`);
    this.today = opts.today ?? null;
  }

  get cash(): Dec {
    return this.cashD;
  }
  /** Deposits − withdrawals, implicit deposits included. */
  get netFlows(): Dec {
    return this.netFlowsD;
  }
  get dividends(): Dec {
    return this.dividendsD;
  }
  get fees(): Dec {
    return this.feesD;
  }
  get realisedTotal(): Dec {
    return this.realisedTotalD;
  }
  /** Positions held (quantity > 0), exact, in no particular order. */
  get positions(): ReadonlyMap<string, LedgerPosition> {
    return this.pos;
  }
  /** Date of the last transaction applied, or null. */
  get lastDate(): string | null {
    return this.last?.date ?? null;
  }

  /** Applies one transaction; returns the problem (and changes nothing) when it is refused. */
  apply(tx: LedgerTransaction): LedgerProblem | null {
    try {
      this.applyOrThrow(tx);
      this.last = tx;
      return null;
    } catch (e) {
      if (e instanceof Refusal) return e.problem;
      throw e;
    }
  }

  /** The state as the REST layer shows it (holdings with quantity > 0 sorted by symbol). */
  snapshot(): LedgerResult {
    const holdings: LedgerHolding[] = [];
    for (const [symbol, p] of this.pos) {
      const quantity = ratio(p.quantity);
      if (quantity === '0') continue; // dust below 10^-10 after a split
      holdings.push({ symbol, quantity, averageCost: money(p.cost.div(p.quantity)), cost: money(p.cost) });
    }
    holdings.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    const realised: Record<string, string> = {};
    for (const symbol of [...this.realisedBy.keys()].sort()) realised[symbol] = money(this.realisedBy.get(symbol)!);
    return {
      holdings,
      cash: money(this.cashD),
      netFlows: money(this.netFlowsD),
      realised,
      realisedTotal: money(this.realisedTotalD),
      dividends: money(this.dividendsD),
      fees: money(this.feesD),
    };
  }

  // --- validation helpers (each throws a Refusal) ---

  private invalid(tx: LedgerTransaction, field: string, message: string): never {
    throw new Refusal({ code: 'INVALID', seq: tx.seq, field, message });
  }

  private positive(tx: LedgerTransaction, field: 'quantity' | 'price', what: string): Dec {
    const v = parseDecimal(tx[field]);
    if (v === null) this.invalid(tx, field, `${what} is required (a decimal number)`);
    if (!v.gt(0)) this.invalid(tx, field, `${what} must be greater than 0`);
    return v;
  }

  private symbol(tx: LedgerTransaction): string {
    if (typeof tx.symbol !== 'string' || tx.symbol.trim() === '') this.invalid(tx, 'symbol', `a ${tx.type} needs a symbol`);
    return tx.symbol;
  }

  private applyOrThrow(tx: LedgerTransaction): void {
    if (dayNumber(tx.date) === null) this.invalid(tx, 'date', 'date must be a calendar date YYYY-MM-DD');
    if (this.today !== null && tx.date > this.today) this.invalid(tx, 'date', `date ${tx.date} is in the future (today is ${this.today})`);
    if (this.last && compareTransactions(tx, this.last) < 0) this.invalid(tx, 'date', 'transactions must be applied in (date, seq) order');
    const rawFee: unknown = tx.fee;
    const fee = rawFee === null || rawFee === undefined || rawFee === '' ? ZERO : parseDecimal(rawFee);
    if (fee === null) this.invalid(tx, 'fee', 'fee must be a decimal number');
    if (fee.isNegative()) this.invalid(tx, 'fee', 'fee must not be negative');

    switch (tx.type) {
      case 'BUY': {
        const symbol = this.symbol(tx);
        const q = this.positive(tx, 'quantity', 'quantity');
        const price = this.positive(tx, 'price', 'price');
        const total = q.times(price).plus(fee);
        const p = this.pos.get(symbol);
        this.pos.set(symbol, { quantity: (p?.quantity ?? ZERO).plus(q), cost: (p?.cost ?? ZERO).plus(total) });
        if (!this.realisedBy.has(symbol)) this.realisedBy.set(symbol, ZERO);
        this.moveCash(total.neg());
        return;
      }
      case 'SELL': {
        const symbol = this.symbol(tx);
        const q = this.positive(tx, 'quantity', 'quantity');
        const price = this.positive(tx, 'price', 'price');
        const p = this.pos.get(symbol);
        const held = p?.quantity ?? ZERO;
        if (q.gt(held)) throw new Refusal({ code: 'SELL_EXCEEDS_HOLDING', seq: tx.seq, symbol, held: ratio(held), sold: ratio(q) });
        const all = q.eq(held);
        const costOut = all ? p!.cost : p!.cost.times(q).div(held);
        const proceeds = q.times(price).minus(fee);
        const gain = proceeds.minus(costOut);
        if (all) this.pos.delete(symbol);
        else this.pos.set(symbol, { quantity: held.minus(q), cost: p!.cost.minus(costOut) });
        this.realisedBy.set(symbol, (this.realisedBy.get(symbol) ?? ZERO).plus(gain));
        this.realisedTotalD = this.realisedTotalD.plus(gain);
        this.moveCash(proceeds);
        return;
      }
      case 'DIVIDEND': {
        this.symbol(tx);
        const rawQ: unknown = tx.quantity;
        const q = rawQ === null || rawQ === undefined || rawQ === '' ? new D(1) : this.positive(tx, 'quantity', 'quantity');
        const amount = q.times(this.positive(tx, 'price', 'the dividend (price)'));
        this.dividendsD = this.dividendsD.plus(amount);
        this.feesD = this.feesD.plus(fee);
        this.moveCash(amount.minus(fee));
        return;
      }
      case 'FEE': {
        const amount = this.positive(tx, 'price', 'the fee amount (price)').plus(fee);
        this.feesD = this.feesD.plus(amount);
        this.moveCash(amount.neg());
        return;
      }
      case 'SPLIT': {
        const symbol = this.symbol(tx);
        const r = this.positive(tx, 'quantity', 'the split ratio (quantity)');
        const p = this.pos.get(symbol);
        if (!p) throw new Refusal({ code: 'NOTHING_TO_SPLIT', seq: tx.seq, symbol });
        this.pos.set(symbol, { quantity: p.quantity.times(r), cost: p.cost });
        this.feesD = this.feesD.plus(fee);
        this.moveCash(fee.neg());
        return;
      }
      case 'DEPOSIT': {
        const amount = this.positive(tx, 'price', 'the amount (price)');
        this.netFlowsD = this.netFlowsD.plus(amount);
        this.feesD = this.feesD.plus(fee);
        this.moveCash(amount.minus(fee));
        return;
      }
      case 'WITHDRAWAL': {
        const amount = this.positive(tx, 'price', 'the amount (price)');
        const out = amount.plus(fee);
        if (out.gt(this.cashD)) throw new Refusal({ code: 'WITHDRAWAL_EXCEEDS_CASH', seq: tx.seq, cash: money(this.cashD), amount: money(out) });
        this.netFlowsD = this.netFlowsD.minus(amount);
        this.feesD = this.feesD.plus(fee);
        this.moveCash(out.neg());
        return;
      }
      default:
        this.invalid(tx, 'type', `unknown transaction type ${JSON.stringify(tx.type)}`);
    }
  }

  /** cash += delta; a shortfall below zero is an implicit deposit. Runs last, after every check. */
  private moveCash(delta: Dec): void {
    const c = this.cashD.plus(delta);
    if (c.isNegative()) {
      this.netFlowsD = this.netFlowsD.minus(c);
      this.cashD = ZERO;
    } else {
      this.cashD = c;
    }
  }
}

/**
 * Replays `txs` in (date, seq) order. `today` (default: the current UTC date) refuses later dates.
 * Returns the first problem in replay order, else the resulting state.
 */
export function replayLedger(txs: readonly LedgerTransaction[], opts: LedgerOptions = {}): LedgerReplay {
  const ledger = new Ledger({ today: opts.today ?? utcToday() });
  for (const tx of sortTransactions(txs)) {
    const problem = ledger.apply(tx);
    if (problem) return { ok: false, problem };
  }
  return { ok: true, result: ledger.snapshot() };
}

/** The state at the end of `date`: replays the transactions dated on or before it (later ones are not looked at). */
export function replayUntil(txs: readonly LedgerTransaction[], date: string, opts: LedgerOptions = {}): LedgerReplay {
  if (dayNumber(date) === null) throw new RangeError(`date must be YYYY-MM-DD, got ${JSON.stringify(date)}`);
  return replayLedger(
    txs.filter((t) => t.date <= date),
    opts,
  );
}
