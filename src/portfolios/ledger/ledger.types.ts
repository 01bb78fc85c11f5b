/**
 * The transaction ledger of a portfolio (issue 15): plain types shared by the persistence and
 * REST layer (src/portfolios/transactions) and the pure replay and performance code
 * (src/portfolios/ledger). Every amount is a decimal STRING (exact; decimal.js in code,
 * NUMERIC in PostgreSQL); dates are calendar days `YYYY-MM-DD`.
 *
 * What each type means (amount = the cash it moves):
 * - BUY: `symbol`, `quantity` > 0 shares, `price` > 0 per share, `fee` >= 0. Cash −(quantity × price + fee);
 *   the holding grows by `quantity` and its cost by quantity × price + fee (fees are part of the cost basis).
 * - SELL: `symbol`, 0 < `quantity` <= shares held that day, `price` > 0, `fee` >= 0. Cash +(quantity × price − fee);
 *   realised P/L += quantity × price − fee − quantity × average cost; the cost shrinks by quantity × average cost.
 * - DIVIDEND: `symbol`; amount = (`quantity` ?? 1) × `price` (shares × per-share amount, or the total with no quantity);
 *   cash +(amount − fee); dividends += amount.
 * - FEE: `price` is the amount (> 0), `symbol` optional (a custody fee, say); cash −price; fees += price.
 * - SPLIT: `symbol`, `quantity` = the ratio, new shares per old share (> 0: "2" for 2-for-1, "0.1" for 1-for-10);
 *   no price; shares × ratio, average cost ÷ ratio, cost basis unchanged.
 * - DEPOSIT / WITHDRAWAL: `price` is the amount (> 0), no symbol; cash ±amount; external flows ±amount.
 *   A WITHDRAWAL above the cash held that day is refused.
 *
 * Cash never goes below zero: a BUY or FEE that costs more than the cash held counts the shortfall
 * as an implicit DEPOSIT on that day (money brought in to pay for it), so a portfolio recorded as
 * BUYs only has zero cash and its purchases as its external flows.
 *
 * Order: by `date`, then by `seq` (the order the transactions were entered: id, or the CSV line).
 */
export const TRANSACTION_TYPES = ['BUY', 'SELL', 'DIVIDEND', 'FEE', 'SPLIT', 'DEPOSIT', 'WITHDRAWAL'] as const;
export type TransactionType = (typeof TRANSACTION_TYPES)[number];

export interface LedgerTransaction {
  /** Order within a day (id, or CSV line number). */
  seq: number;
  type: TransactionType;
  /** Upper-case symbol; null for DEPOSIT / WITHDRAWAL (and a FEE not tied to a holding). */
  symbol: string | null;
  quantity: string | null;
  price: string | null;
  /** >= 0; "0" when none. */
  fee: string;
  /** ISO 4217 code, e.g. USD. */
  currency: string;
  /** YYYY-MM-DD. */
  date: string;
}

/** One holding after the replay (only symbols with shares left; a fully sold one keeps its realised P/L in `realised`). */
export interface LedgerHolding {
  symbol: string;
  quantity: string;
  /** Cost basis ÷ quantity. */
  averageCost: string;
  /** Cost basis: what the shares held cost, fees included. */
  cost: string;
}

/** Why a replay refused a transaction (the REST layer answers 400 with it). */
export type LedgerProblem =
  | { code: 'SELL_EXCEEDS_HOLDING'; seq: number; symbol: string; held: string; sold: string }
  | { code: 'WITHDRAWAL_EXCEEDS_CASH'; seq: number; cash: string; amount: string }
  | { code: 'NOTHING_TO_SPLIT'; seq: number; symbol: string }
  | { code: 'INVALID'; seq: number; field: string; message: string };

export interface LedgerResult {
  holdings: LedgerHolding[];
  cash: string;
  /** Deposits − withdrawals, implicit deposits included. */
  netFlows: string;
  /** Per symbol (fully sold ones too). */
  realised: Record<string, string>;
  realisedTotal: string;
  dividends: string;
  fees: string;
}

export type LedgerReplay = { ok: true; result: LedgerResult } | { ok: false; problem: LedgerProblem };
