/**
 * The intraday value series, the pure part: which portfolios get a point in a recording
 * interval, what that point's value is, and when an interval starts. No Nest, no SQL, no clock.
 */
import { formatFixed, toFixed8 } from '../valuation/valuation.math';

/** Ranges of the intraday series a client can ask for (REST `range=1d`, realtime `series: '1d'`). */
export const INTRADAY_RANGES = ['1d'] as const;
export type IntradayRange = (typeof INTRADAY_RANGES)[number];

/** How far back each range reaches (ms). */
export const INTRADAY_RANGE_MS: Record<IntradayRange, number> = { '1d': 24 * 60 * 60 * 1000 };

/** One point of a series as the API gives it: the start of its interval (ISO 8601) and the total value then (decimal string). */
export interface IntradayPoint {
  t: string;
  value: string;
}

/** A point just recorded for a portfolio (what the realtime hub pushes to that portfolio's series subscribers). */
export interface RecordedPoint extends IntradayPoint {
  portfolioId: number;
  ownerId: number;
}

/** What the recorder reads of a live valuation. */
export interface ValuedPortfolio {
  portfolio_id: number;
  owner_id: number;
  total_value: string;
}

/** A point to write: the portfolio and its value, already in the stored form (see pointValue). */
export interface PlannedPoint {
  portfolioId: number;
  ownerId: number;
  value: string;
}

export interface IntradayPlan {
  /** The portfolios whose value moved since their last recorded point (or that have none yet), by id. */
  points: PlannedPoint[];
  /** The last recorded value of every portfolio valued now, once `points` are written (portfolios gone are left out). */
  next: Map<number, string>;
  /** Portfolios whose value does not fit the column (numeric(24,8)): not recorded. */
  tooLarge: number[];
}

/** numeric(24,8): at most 16 digits before the point, i.e. |value| × 10^8 < 10^24. */
const STORED_LIMIT = 10n ** 24n;

/**
 * A total value in the form it is stored and served: rounded to 8 decimals half away from zero
 * (as PostgreSQL rounds it into numeric(24,8)), without trailing zeros ("1234.5"); null when it
 * does not fit the column. The valuation's totals have up to 16 decimals (quantity × price).
 */
export function pointValue(totalValue: string): string | null {
  const v = toFixed8(totalValue);
  if (v === null) return null;
  if (v >= STORED_LIMIT || v <= -STORED_LIMIT) return null;
  return formatFixed(v, 8);
}

/**
 * Which portfolios get a point now: those whose value (in stored form) differs from their last
 * recorded one, or that have none yet ("while the market moves": an unchanged portfolio gets no
 * point). `last` is not modified: the caller adopts `next` only once the points are written, so a
 * failed write is planned again at the next interval.
 */
export function planIntradayPoints(valuations: Iterable<ValuedPortfolio>, last: ReadonlyMap<number, string>): IntradayPlan {
  const points: PlannedPoint[] = [];
  const next = new Map<number, string>();
  const tooLarge: number[] = [];
  for (const v of valuations) {
    const value = pointValue(v.total_value);
    if (value === null) {
      tooLarge.push(v.portfolio_id);
      continue;
    }
    next.set(v.portfolio_id, value);
    if (last.get(v.portfolio_id) !== value) points.push({ portfolioId: v.portfolio_id, ownerId: v.owner_id, value });
  }
  points.sort((a, b) => a.portfolioId - b.portfolioId);
  return { points, next, tooLarge };
}

/**
 * The interval a recording at `nowMs` belongs to: the multiple of `intervalMs` (from the epoch,
 * so UTC) nearest to it, i.e. the start of the interval that has just begun when the timer fires
 * on time, or a few ms early. Every instance stamps a recording of the same interval alike.
 */
export function intervalStart(nowMs: number, intervalMs: number): number {
  return Math.round(nowMs / intervalMs) * intervalMs;
}
