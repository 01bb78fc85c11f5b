import type { LedgerTransaction, TransactionType } from '../ledger/ledger.types';

/** A stored transaction joined with its asset's symbol. */
export interface TransactionRow {
  id: number;
  portfolio_id: number;
  type: TransactionType;
  asset_id: number | null;
  symbol: string | null;
  quantity: string | null;
  price: string | null;
  fee: string;
  currency: string;
  date: string;
  note: string | null;
  created_at: Date;
}

export const TRANSACTION_COLUMNS = `t.id, t.portfolio_id, t.type, t.asset_id, a.symbol, t.quantity, t.price, t.fee, t.currency,
  to_char(t.date, 'YYYY-MM-DD') AS date, t.note, t.created_at`;

export function toLedgerTransaction(
  r: Pick<TransactionRow, 'type' | 'symbol' | 'quantity' | 'price' | 'fee' | 'currency' | 'date'>,
  seq: number,
): LedgerTransaction {
  return { seq, type: r.type, symbol: r.symbol, quantity: r.quantity, price: r.price, fee: r.fee, currency: r.currency, date: r.date };
}
