/**
 * Small helpers shared by the ledger code (issue 15): strict decimal parsing, output formatting
 * (HALF_UP at the output only, normal notation, no trailing zeros) and calendar-day arithmetic
 * on `YYYY-MM-DD` strings (UTC day numbers, no time zones involved).
 */
import Decimal from 'decimal.js';
import { D, type Dec } from '../../common/decimal';

/** Decimal places kept at output: money (amounts, prices, costs). */
export const MONEY_DP = 8;
/** Decimal places kept at output: quantities, ratios and returns. */
export const RATIO_DP = 10;

export const ZERO: Dec = new D(0);
export const ONE: Dec = new D(1);

/** `v` rounded HALF_UP to `dp` places, in normal notation without trailing zeros ("-0" becomes "0"). */
export function fixed(v: Dec, dp: number): string {
  const r = v.toDecimalPlaces(dp, Decimal.ROUND_HALF_UP);
  return r.isZero() ? '0' : r.toFixed();
}

export const money = (v: Dec): string => fixed(v, MONEY_DP);
export const ratio = (v: Dec): string => fixed(v, RATIO_DP);

const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?$/;

/** A plain decimal string (optionally with an exponent) or a finite number, else null (no hex, NaN, Infinity). */
export function parseDecimal(v: unknown): Dec | null {
  if (typeof v === 'number') return Number.isFinite(v) ? new D(v) : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  return DECIMAL_RE.test(s) ? new D(s) : null;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a valid `YYYY-MM-DD` calendar date, else null. */
export function dayNumber(date: string): number | null {
  const m = typeof date === 'string' ? DATE_RE.exec(date) : null;
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return ms / MS_PER_DAY;
}

/** The `YYYY-MM-DD` date of a day number (inverse of dayNumber). */
export function dateOf(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Today's UTC calendar date. */
export function utcToday(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Day number of a date that must be valid (throws RangeError naming `what` otherwise). */
export function requireDay(date: string, what: string): number {
  const n = dayNumber(date);
  if (n === null) throw new RangeError(`${what} must be a calendar date YYYY-MM-DD, got ${JSON.stringify(date)}`);
  return n;
}
