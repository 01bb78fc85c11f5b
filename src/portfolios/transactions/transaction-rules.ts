/**
 * The input rules of a transaction that depend on its type (the meanings are in
 * ../ledger/ledger.types.ts), shared by the REST bodies and the CSV import. Field formats
 * (decimals, symbol, date) are the DTOs' (transactions.dto.ts); whether the ledger stays
 * consistent (selling more than held, ...) is the replay's.
 */
import { dayNumber } from '../ledger/ledger.format';
import type { TransactionType } from '../ledger/ledger.types';

/** A transaction as entered, after the field checks (decimals as plain strings, symbol upper-case). */
export interface TransactionFields {
  type: TransactionType;
  symbol: string | null;
  quantity: string | null;
  price: string | null;
}

/** What each type needs and refuses, for the docs and the messages. */
const RULES: Record<TransactionType, { needs: Partial<Record<'symbol' | 'quantity' | 'price', string>>; refuses: ('symbol' | 'quantity' | 'price')[] }> = {
  BUY: { needs: { symbol: 'the asset bought', quantity: 'shares bought', price: 'price per share' }, refuses: [] },
  SELL: { needs: { symbol: 'the asset sold', quantity: 'shares sold', price: 'price per share' }, refuses: [] },
  DIVIDEND: { needs: { symbol: 'the asset that paid it', price: 'the amount per share, or the total without a quantity' }, refuses: [] },
  FEE: { needs: { price: 'the fee amount' }, refuses: ['quantity'] },
  SPLIT: { needs: { symbol: 'the asset split', quantity: 'the ratio, new shares per old share: 2 for a 2-for-1 split' }, refuses: ['price'] },
  DEPOSIT: { needs: { price: 'the amount' }, refuses: ['symbol', 'quantity'] },
  WITHDRAWAL: { needs: { price: 'the amount' }, refuses: ['symbol', 'quantity'] },
};

/** One message per broken rule ("price is required for a BUY (price per share)"); empty when the fields fit the type. */
export function typeRuleErrors(t: TransactionFields): string[] {
  const rule = RULES[t.type];
  if (!rule) return [];
  const errors: string[] = [];
  for (const [field, what] of Object.entries(rule.needs) as ['symbol' | 'quantity' | 'price', string][]) {
    if (t[field] == null) errors.push(`${field} is required for a ${t.type} (${what})`);
  }
  for (const field of rule.refuses) {
    if (t[field] != null) errors.push(`${field} must be empty for a ${t.type}`);
  }
  return errors;
}

/** The earliest date accepted. */
export const MIN_DATE = '1900-01-01';

/** Today's calendar date in UTC (the "not in the future" limit). */
export function utcDate(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** Why `value` is not an acceptable transaction date (YYYY-MM-DD, a real day, 1900-01-01 to today UTC), or null. */
export function dateError(value: unknown, today = utcDate()): string | null {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return 'date must be a calendar date YYYY-MM-DD';
  if (dayNumber(value) === null) return `date ${value} is not a calendar date`;
  if (value < MIN_DATE) return `date must not be before ${MIN_DATE}`;
  if (value > today) return `date ${value} is in the future (today is ${today} UTC)`;
  return null;
}

/** An asset's currency as a transaction's default: a three-letter code, else the portfolio's base currency. */
export function defaultCurrency(assetCurrency: string | null | undefined, baseCurrency: string): string {
  return assetCurrency && /^[A-Z]{3}$/.test(assetCurrency) ? assetCurrency : baseCurrency;
}
