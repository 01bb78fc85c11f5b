/**
 * Trading hours of the markets the catalog's assets trade on, as pure functions
 * of an instant (no clock, no machine time zone: America/New_York wall time comes
 * from Intl, so daylight-saving switches are right).
 *
 * - US equities (STOCK, ETF, FUND, BOND): `pre` 04:00-09:30, `open` 09:30-16:00,
 *   `post` 16:00-20:00 New York time on trading days, `closed` otherwise; NYSE
 *   holidays of 2026 and 2027 are closed all day, and on its early-close days the
 *   session ends at 13:00 (after-hours until 17:00).
 * - FX (FOREX): `open` from Sunday 17:00 to Friday 17:00 New York time, `closed` over the weekend.
 * - Crypto (CRYPTO): always `open`.
 */
import type { MarketState } from '../realtime/protocol/server-messages';
import type { AssetType } from './entities/asset.entity';

export type { MarketState };
export type Market = 'us_equities' | 'fx' | 'crypto';

export const MARKET_STATES = ['open', 'closed', 'pre', 'post'] as const satisfies readonly MarketState[];
export const MARKETS = ['us_equities', 'fx', 'crypto'] as const satisfies readonly Market[];

/** The market an asset type trades on (types with no known hours: crypto's, always open). */
export function marketOf(assetType: AssetType | string | null | undefined): Market {
  switch (assetType) {
    case 'STOCK':
    case 'ETF':
    case 'FUND':
    case 'BOND':
      return 'us_equities';
    case 'FOREX':
      return 'fx';
    default:
      return 'crypto';
  }
}

/** NYSE full-day closures (New York dates). */
const NYSE_HOLIDAYS = new Set([
  // 2026
  '2026-01-01',
  '2026-01-19',
  '2026-02-16',
  '2026-04-03',
  '2026-05-25',
  '2026-06-19',
  '2026-07-03',
  '2026-09-07',
  '2026-11-26',
  '2026-12-25',
  // 2027
  '2027-01-01',
  '2027-01-18',
  '2027-02-15',
  '2027-03-26',
  '2027-05-31',
  '2027-06-18',
  '2027-07-05',
  '2027-09-06',
  '2027-11-25',
  '2027-12-24',
]);
/** NYSE early closes: the regular session ends at 13:00, after-hours at 17:00. */
const NYSE_EARLY_CLOSES = new Set(['2026-11-27', '2026-12-24', '2027-11-26']);

const ZONE = 'America/New_York';
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

let formatter: Intl.DateTimeFormat | null = null;

/** New York wall time of an instant. */
interface Wall {
  /** YYYY-MM-DD */
  date: string;
  y: number;
  m: number;
  d: number;
  /** 0 = Sunday */
  weekday: number;
  /** Minutes since local midnight. */
  minutes: number;
  /** The wall time read as if it were UTC, minus the instant: the zone's offset in ms. */
  offsetMs: number;
}

function wall(ms: number): Wall {
  formatter ??= new Intl.DateTimeFormat('en-US', {
    timeZone: ZONE,
    hourCycle: 'h23',
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const p: Record<string, string> = {};
  for (const part of formatter.formatToParts(ms)) p[part.type] = part.value;
  const y = Number(p.year);
  const m = Number(p.month);
  const d = Number(p.day);
  const h = Number(p.hour);
  const min = Number(p.minute);
  const s = Number(p.second);
  const asUtc = Date.UTC(y, m - 1, d, h, min, s);
  return {
    date: `${p.year}-${p.month}-${p.day}`,
    y,
    m,
    d,
    weekday: WEEKDAYS[p.weekday],
    minutes: h * 60 + min,
    offsetMs: asUtc - (ms - (((ms % 1000) + 1000) % 1000)),
  };
}

/** The instant of New York wall time y-m-d + minutes (never in a DST gap here: every boundary is at 04:00 or later). */
function instantOf(y: number, m: number, d: number, minutes: number): number {
  const asUtc = Date.UTC(y, m - 1, d, 0, minutes);
  const first = asUtc - wall(asUtc).offsetMs;
  return asUtc - wall(first).offsetMs;
}

const H = 60;

function equitiesState(w: Wall): MarketState {
  if (w.weekday === 0 || w.weekday === 6 || NYSE_HOLIDAYS.has(w.date)) return 'closed';
  const early = NYSE_EARLY_CLOSES.has(w.date);
  const close = early ? 13 * H : 16 * H;
  const postEnd = early ? 17 * H : 20 * H;
  const t = w.minutes;
  if (t < 4 * H) return 'closed';
  if (t < 9 * H + 30) return 'pre';
  if (t < close) return 'open';
  if (t < postEnd) return 'post';
  return 'closed';
}

function fxState(w: Wall): MarketState {
  switch (w.weekday) {
    case 6:
      return 'closed';
    case 0:
      return w.minutes >= 17 * H ? 'open' : 'closed';
    case 5:
      return w.minutes < 17 * H ? 'open' : 'closed';
    default:
      return 'open';
  }
}

/** Local times (minutes) at which some market's state may change. */
const BOUNDARIES = [4 * H, 9 * H + 30, 13 * H, 16 * H, 17 * H, 20 * H];

function stateOfMarket(market: Market, ms: number): MarketState {
  if (market === 'crypto') return 'open';
  const w = wall(ms);
  return market === 'fx' ? fxState(w) : equitiesState(w);
}

/** The state of an asset type's market at `at`. */
export function marketState(assetType: AssetType | string | null | undefined, at: Date | number): MarketState {
  return stateOfMarket(marketOf(assetType), typeof at === 'number' ? at : at.getTime());
}

/** A market's state at an instant and when it next changes (null: never, i.e. crypto). */
export interface MarketSession {
  market: Market;
  state: MarketState;
  /** The first instant after `at` with a different state (ms since the epoch), null when it never changes. */
  nextChange: number | null;
  /** The state from nextChange on (null with nextChange). */
  nextState: MarketState | null;
}

/** The session of a market at `at` (`at` in ms since the epoch or a Date). */
export function marketSession(market: Market, at: Date | number): MarketSession {
  const ms = typeof at === 'number' ? at : at.getTime();
  const state = stateOfMarket(market, ms);
  if (market === 'crypto') return { market, state, nextChange: null, nextState: null };
  const w = wall(ms);
  // Walk the candidate boundaries of the next days (New York calendar): the first one after
  // `at` whose state differs is the next change. A long weekend is at most a few days.
  for (let day = 0; day < 10; day++) {
    const date = new Date(Date.UTC(w.y, w.m - 1, w.d + day));
    const y = date.getUTCFullYear();
    const m = date.getUTCMonth() + 1;
    const d = date.getUTCDate();
    for (const minutes of BOUNDARIES) {
      const t = instantOf(y, m, d, minutes);
      if (t <= ms) continue;
      const next = stateOfMarket(market, t);
      if (next !== state) return { market, state, nextChange: t, nextState: next };
    }
  }
  return { market, state, nextChange: null, nextState: null };
}

/** The session of an asset type's market at `at`. */
export function assetMarketSession(assetType: AssetType | string | null | undefined, at: Date | number): MarketSession {
  return marketSession(marketOf(assetType), at);
}

/**
 * Market states for a hot path: each market's state is computed once and reused
 * until its next change (or until the clock goes back before the instant it was
 * computed at), so a lookup is one comparison.
 */
export class MarketStateCache {
  private readonly sessions = new Map<Market, { from: number; until: number; session: MarketSession }>();

  session(market: Market, now: number): MarketSession {
    const e = this.sessions.get(market);
    if (e && now >= e.from && now < e.until) return e.session;
    const session = marketSession(market, now);
    this.sessions.set(market, { from: now, until: session.nextChange ?? Infinity, session });
    return session;
  }

  state(market: Market, now: number): MarketState {
    return this.session(market, now).state;
  }
}
