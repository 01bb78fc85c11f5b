import { SYMBOL_PATTERN } from '../assets/catalog/catalog';
import { D } from '../common/decimal';
import type { BusMessages, BusTopic, FeedQuietGroup, PriceTick } from './bus.messages';

/**
 * Schema checks of bus messages on receipt (RedisBus, after the signature): handlers get
 * only messages of their topic's exact types, rebuilt from the checked fields (nothing else
 * is kept). Ticks follow the quote validator's rules (src/price-feed/validation/quote-validator.ts)
 * for what can be checked without history: decimal strings in plain notation the columns can
 * store (numeric(24,8) prices, numeric(28,8) volumes), finite, prices > 0, volume ≥ 0, an ISO
 * 8601 as_of not in the future beyond BUS_FUTURE_TOLERANCE_MS, a catalog-style symbol. The
 * jump rule needs history and was applied by the feed before it committed the batch.
 *
 * A bad tick is taken out of its batch (the others are delivered); a batch left with none is
 * dropped with the reason of its first bad tick. Anything else wrong drops the whole message.
 */

/** Why a message, or a tick of a `prices.committed` batch, was dropped. */
export type BusDropReason =
  /** Larger than MAX_BUS_MESSAGE_CHARS: dropped before anything else is done with it. */
  | 'too_large'
  /** Unsigned, not an envelope, or signed with another key (bus-signer.ts). */
  | 'bad_signature'
  /** Signed, but the body is not JSON. */
  | 'not_json'
  /** Not an object of the topic's shape: a field missing or of the wrong type or range. */
  | 'invalid'
  /** More than MAX_TICKS_PER_MESSAGE ticks, or more than MAX_FEED_STATUS_SYMBOLS symbols in a `feed.status`. */
  | 'too_many_ticks'
  // Ticks:
  /** Not an object, or a field missing, of the wrong type, or not a plain decimal string. */
  | 'malformed'
  /** A symbol that does not match the catalog's syntax (a tick's, or one of a `feed.status`). */
  | 'bad_symbol'
  /** NaN or Infinity. */
  | 'not_finite'
  /** A price (or previous close, high, low) ≤ 0, or a negative volume. */
  | 'not_positive'
  /** More digits than the columns store (≥ 1e16 for prices, ≥ 1e20 for volumes, more than 8 decimals). */
  | 'out_of_range'
  /** as_of not an ISO 8601 time. */
  | 'bad_timestamp'
  /** as_of (or a `feed.status` time) later than now + BUS_FUTURE_TOLERANCE_MS. */
  | 'future_timestamp';

/** Largest message (characters of the envelope) looked at. Redis's own pub/sub output limit is 32 MB. */
export const MAX_BUS_MESSAGE_CHARS = 16 * 1024 * 1024;
/** Most ticks in one `prices.committed` batch (a batch holds at most one tick per symbol). */
export const MAX_TICKS_PER_MESSAGE = 50_000;
/**
 * How far in the future a tick's as_of may be on receipt: the feed's own tolerance
 * (FUTURE_TOLERANCE_MS of the quote validator, 5 s against its clock) plus 25 s of
 * clock difference between hosts.
 */
export const BUS_FUTURE_TOLERANCE_MS = 30_000;
/** Longest `source` (the assets.source column is varchar(50)). */
const MAX_SOURCE = 50;
const MAX_ORIGIN = 256;
const MAX_SESSION_ID = 256;
/** Most symbols (over all groups) in one `feed.status`: as many as a price batch may hold. */
export const MAX_FEED_STATUS_SYMBOLS = MAX_TICKS_PER_MESSAGE;
/** A provider name as PRICE_PROVIDERS spells it (yahoo, alphavantage, coingecko, ...). */
const VENDOR_NAME = /^[a-z][a-z0-9_-]{0,49}$/;
const FEED_QUIET_REASONS: ReadonlySet<unknown> = new Set(['vendor_unavailable', 'no_quotes']);
const INT32_MAX = 0x7fffffff;

/** Fast path: what PostgreSQL's numeric prints once trimmed, "0" to 16 integer digits and up to 8 decimals. */
const PLAIN_PRICE = /^(?:0|[1-9]\d{0,15})(?:\.\d{1,8})?$/;
const PLAIN_VOLUME = /^(?:0|[1-9]\d{0,19})(?:\.\d{1,8})?$/;
const ZERO = /^0(?:\.0+)?$/;
const NON_FINITE = /^[+-]?(?:nan|infinity|inf)$/i;
/** ISO 8601 with a date, a time and a zone (what Date#toISOString writes). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
/** Visible ASCII and spaces, no control characters. */
const PRINTABLE = /^[\x20-\x7e]+$/;

const PRICE_MAX = new D('1e16');
const VOLUME_MAX = new D('1e20');

export type TickCheck = { ok: true; tick: PriceTick } | { ok: false; reason: BusDropReason };

export type MessageCheck<K extends BusTopic> =
  | {
      ok: true;
      message: BusMessages[K];
      /** prices.committed: reasons of the ticks taken out of the batch (the batch itself is delivered). */
      droppedTicks?: BusDropReason[];
    }
  | { ok: false; reason: BusDropReason; droppedTicks?: BusDropReason[] };

class Bad extends Error {
  constructor(readonly reason: BusDropReason) {
    super(reason);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= INT32_MAX;

/**
 * A decimal string the columns can store: plain notation, finite, < max, at most 8 decimals;
 * > 0 when `positive`, ≥ 0 otherwise. Returns the string as it is (it is already canonical
 * enough for every consumer: the hub, the valuation engine, the cache).
 */
function decimal(v: unknown, plain: RegExp, max: InstanceType<typeof D>, positive: boolean): string {
  if (typeof v !== 'string') throw new Bad('malformed');
  if (plain.test(v)) {
    if (positive && ZERO.test(v)) throw new Bad('not_positive');
    return v;
  }
  // Not the common form: say why, with decimal.js.
  const t = v.trim();
  if (NON_FINITE.test(t)) throw new Bad('not_finite');
  let d: InstanceType<typeof D>;
  try {
    d = new D(t);
  } catch {
    throw new Bad('malformed');
  }
  if (!d.isFinite()) throw new Bad('not_finite');
  if (positive ? d.lte(0) : d.lt(0)) throw new Bad('not_positive');
  if (d.gte(max) || d.decimalPlaces() > 8) throw new Bad('out_of_range');
  // Finite and in range, but written with a sign, an exponent, spaces or leading zeros: not what a committed batch holds.
  throw new Bad('malformed');
}

function optionalDecimal(v: unknown, plain: RegExp, max: InstanceType<typeof D>, positive: boolean): string | null {
  return v === null || v === undefined ? null : decimal(v, plain, max, positive);
}

/** The last as_of read (ticks of one batch often share it): its time in ms. */
let lastAsOf = '';
let lastAsOfMs = 0;

/** The time of a valid as_of (ISO 8601 with a zone, from 1970 on); throws bad_timestamp otherwise. */
function asOfMs(as_of: string): number {
  if (as_of === lastAsOf) return lastAsOfMs;
  if (as_of.length > 40 || !ISO_TIME.test(as_of)) throw new Bad('bad_timestamp');
  const at = Date.parse(as_of);
  if (!Number.isFinite(at) || at < 0) throw new Bad('bad_timestamp');
  lastAsOf = as_of;
  lastAsOfMs = at;
  return at;
}

/** One tick of a `prices.committed` batch, rebuilt from its checked fields. */
export function checkTick(t: unknown, now: number = Date.now()): TickCheck {
  try {
    if (!isRecord(t)) throw new Bad('malformed');
    const symbol = t.symbol;
    if (typeof symbol !== 'string') throw new Bad('malformed');
    if (!SYMBOL_PATTERN.test(symbol)) throw new Bad('bad_symbol');
    const price = decimal(t.price, PLAIN_PRICE, PRICE_MAX, true);
    const previous_close = optionalDecimal(t.previous_close, PLAIN_PRICE, PRICE_MAX, true);
    const high = optionalDecimal(t.high, PLAIN_PRICE, PRICE_MAX, true);
    const low = optionalDecimal(t.low, PLAIN_PRICE, PRICE_MAX, true);
    const volume = optionalDecimal(t.volume, PLAIN_VOLUME, VOLUME_MAX, false);
    const as_of = t.as_of;
    if (typeof as_of !== 'string') throw new Bad('bad_timestamp');
    const at = asOfMs(as_of);
    if (at > now + BUS_FUTURE_TOLERANCE_MS) throw new Bad('future_timestamp');
    const source = t.source;
    if (typeof source !== 'string' || source.length === 0 || source.length > MAX_SOURCE || !PRINTABLE.test(source)) throw new Bad('malformed');
    const seq = t.seq;
    if (seq === undefined) return { ok: true, tick: { symbol, price, previous_close, high, low, volume, as_of, source } };
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) throw new Bad('malformed');
    return { ok: true, tick: { symbol, price, previous_close, high, low, volume, as_of, source, seq } };
  } catch (err) {
    if (err instanceof Bad) return { ok: false, reason: err.reason };
    return { ok: false, reason: 'malformed' };
  }
}

function checkPrices(v: unknown, now: number): MessageCheck<'prices.committed'> {
  if (!isRecord(v) || !Array.isArray(v.ticks)) return { ok: false, reason: 'invalid' };
  if (v.ticks.length > MAX_TICKS_PER_MESSAGE) return { ok: false, reason: 'too_many_ticks' };
  const published_at = v.published_at;
  if (typeof published_at !== 'number' || !Number.isFinite(published_at) || published_at < 0) return { ok: false, reason: 'invalid' };
  const origin = v.origin;
  if (typeof origin !== 'string' || origin.length > MAX_ORIGIN) return { ok: false, reason: 'invalid' };
  const ticks: PriceTick[] = [];
  let droppedTicks: BusDropReason[] | undefined;
  for (const raw of v.ticks as unknown[]) {
    const c = checkTick(raw, now);
    if (c.ok) ticks.push(c.tick);
    else (droppedTicks ??= []).push(c.reason);
  }
  if (droppedTicks && ticks.length === 0) return { ok: false, reason: droppedTicks[0], droppedTicks };
  return { ok: true, message: { ticks, published_at, origin }, ...(droppedTicks ? { droppedTicks } : {}) };
}

function checkPortfolio(v: unknown): MessageCheck<'portfolio.changed'> {
  if (!isRecord(v) || !isId(v.portfolio_id) || !isId(v.owner_id)) return { ok: false, reason: 'invalid' };
  if (v.deleted !== undefined && typeof v.deleted !== 'boolean') return { ok: false, reason: 'invalid' };
  const message: BusMessages['portfolio.changed'] = { portfolio_id: v.portfolio_id, owner_id: v.owner_id };
  if (v.deleted === true) message.deleted = true;
  return { ok: true, message };
}

function checkSession(v: unknown): MessageCheck<'session.ended'> {
  if (!isRecord(v) || !isId(v.user_id)) return { ok: false, reason: 'invalid' };
  const id = v.session_id;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_SESSION_ID || !PRINTABLE.test(id)) return { ok: false, reason: 'invalid' };
  return { ok: true, message: { session_id: id, user_id: v.user_id } };
}

/** A time in ms since the epoch that Date can print, not in the future beyond BUS_FUTURE_TOLERANCE_MS. */
function epochMs(v: unknown, now: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Bad('invalid');
  if (v > now + BUS_FUTURE_TOLERANCE_MS) throw new Bad('future_timestamp');
  return v;
}

/**
 * `feed.status`: the feed's whole quiet set. Every symbol of catalog syntax and listed once, at most
 * MAX_FEED_STATUS_SYMBOLS of them; reasons and vendor names from the known set; times that a Date can
 * hold and not in the future. Anything wrong drops the whole message (a partial set would say "live"
 * for the symbols left out).
 */
function checkFeedStatus(v: unknown, now: number): MessageCheck<'feed.status'> {
  try {
    if (!isRecord(v) || !Array.isArray(v.quiet)) throw new Bad('invalid');
    const origin = v.origin;
    if (typeof origin !== 'string' || origin.length > MAX_ORIGIN) throw new Bad('invalid');
    const at = epochMs(v.at, now);
    if (v.quiet.length > MAX_FEED_STATUS_SYMBOLS) throw new Bad('too_many_ticks');
    const seen = new Set<string>();
    const quiet: FeedQuietGroup[] = [];
    for (const g of v.quiet as unknown[]) {
      if (!isRecord(g) || !Array.isArray(g.symbols) || g.symbols.length === 0 || !FEED_QUIET_REASONS.has(g.reason)) throw new Bad('invalid');
      const reason = g.reason as FeedQuietGroup['reason'];
      const vendor = g.vendor;
      if (vendor !== null && (typeof vendor !== 'string' || !VENDOR_NAME.test(vendor))) throw new Bad('invalid');
      if (reason === 'vendor_unavailable' && vendor === null) throw new Bad('invalid');
      const since = epochMs(g.since, now);
      if (seen.size + g.symbols.length > MAX_FEED_STATUS_SYMBOLS) throw new Bad('too_many_ticks');
      const symbols: string[] = [];
      for (const s of g.symbols as unknown[]) {
        if (typeof s !== 'string') throw new Bad('invalid');
        if (!SYMBOL_PATTERN.test(s)) throw new Bad('bad_symbol');
        if (seen.has(s)) throw new Bad('invalid');
        seen.add(s);
        symbols.push(s);
      }
      quiet.push({ symbols, reason, vendor, since });
    }
    return { ok: true, message: { quiet, at, origin } };
  } catch (err) {
    return { ok: false, reason: err instanceof Bad ? err.reason : 'invalid' };
  }
}

/** Checks a parsed message body against its topic's schema. */
export function checkBusMessage<K extends BusTopic>(topic: K, value: unknown, now: number = Date.now()): MessageCheck<K> {
  switch (topic) {
    case 'prices.committed':
      return checkPrices(value, now) as MessageCheck<K>;
    case 'portfolio.changed':
      return checkPortfolio(value) as MessageCheck<K>;
    case 'session.ended':
      return checkSession(value) as MessageCheck<K>;
    case 'feed.status':
      return checkFeedStatus(value, now) as MessageCheck<K>;
    default:
      return { ok: false, reason: 'invalid' };
  }
}

/** The topics a bus carries (anything else on the prefix is not ours). */
export const BUS_TOPICS: readonly BusTopic[] = ['prices.committed', 'portfolio.changed', 'session.ended', 'feed.status'];
