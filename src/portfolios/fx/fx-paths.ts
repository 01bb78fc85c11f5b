/**
 * Currency conversion for portfolios (issue 15): which FX pairs convert an amount from one currency
 * into a portfolio's base currency, and the exact arithmetic of that conversion.
 *
 * Pairs are the catalog's FOREX assets named `XXXYYY` (EURUSD, USDJPY, …): their price is how many
 * YYY one XXX buys. From C to B the path is, in this order of preference:
 *   1. C = B: no conversion;
 *   2. the pair CB: multiply by its price; the pair BC: divide by its price;
 *   3. through USD: C → USD then USD → B, each step as in 2.
 * Anything else has no path (the amount cannot be converted: the REST API says so, the live
 * valuation counts it as 0 and marks the portfolio stale).
 *
 * Arithmetic: a conversion multiplies by the prices of the "multiply" steps and divides by those of
 * the "divide" steps in one exact fraction, and rounds once, half away from zero, at the scale of
 * the amount (fixed16 in the live valuation: 16 decimal places). Multiplying steps alone are exact.
 */

export interface FxStep {
  /** The pair's symbol, e.g. EURUSD. */
  symbol: string;
  /** True: divide by the pair's price (the pair quotes the target currency in the source currency). */
  divide: boolean;
}

const PAIR = /^([A-Z]{3})([A-Z]{3})$/;

/** The two currencies of a pair symbol (`EURUSD` → [EUR, USD]), or null when the symbol is not one. */
export function pairCurrencies(symbol: string): [string, string] | null {
  const m = PAIR.exec(symbol);
  return m && m[1] !== m[2] ? [m[1], m[2]] : null;
}

/** The conversion paths between currencies, from a set of pair symbols (FOREX assets). */
export class FxPaths {
  private readonly pairs = new Set<string>();
  private readonly cache = new Map<string, FxStep[] | null>();

  constructor(pairSymbols: Iterable<string> = []) {
    for (const s of pairSymbols) this.add(s);
  }

  /** Registers a pair symbol (ignored unless it looks like XXXYYY). Returns true when it is new. */
  add(symbol: string): boolean {
    if (!pairCurrencies(symbol) || this.pairs.has(symbol)) return false;
    this.pairs.add(symbol);
    this.cache.clear();
    return true;
  }

  has(symbol: string): boolean {
    return this.pairs.has(symbol);
  }

  /** The steps from `from` to `to` ([] when they are the same currency), or null without a path. */
  path(from: string, to: string): FxStep[] | null {
    if (from === to) return [];
    const key = `${from}>${to}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const found = this.direct(from, to) ?? this.viaUsd(from, to);
    this.cache.set(key, found);
    return found;
  }

  private direct(from: string, to: string): FxStep[] | null {
    if (this.pairs.has(from + to)) return [{ symbol: from + to, divide: false }];
    if (this.pairs.has(to + from)) return [{ symbol: to + from, divide: true }];
    return null;
  }

  private viaUsd(from: string, to: string): FxStep[] | null {
    if (from === 'USD' || to === 'USD') return null;
    const a = this.direct(from, 'USD');
    const b = a && this.direct('USD', to);
    return a && b ? [...a, ...b] : null;
  }
}

const SCALE8 = 100_000_000n;

/**
 * `amount` (any fixed scale) converted along `steps` with fixed8 prices, at the same scale, rounded
 * once half away from zero; null when a step's price is unknown or not positive.
 */
export function convertScaled(amount: bigint, steps: readonly FxStep[], priceOf: (symbol: string) => bigint | null): bigint | null {
  if (steps.length === 0) return amount;
  let num = amount;
  let den = 1n;
  for (const step of steps) {
    const p = priceOf(step.symbol);
    if (p === null || p <= 0n) return null;
    if (step.divide) {
      num *= SCALE8;
      den *= p;
    } else {
      num *= p;
      den *= SCALE8;
    }
  }
  return divRound(num, den);
}

/** num / den rounded half away from zero (den > 0). */
export function divRound(num: bigint, den: bigint): bigint {
  const neg = num < 0n;
  const a = neg ? -num : num;
  let q = a / den;
  if (2n * (a % den) >= den) q += 1n;
  return neg ? -q : q;
}
