import { MAX_SYMBOLS_PER_MESSAGE } from '../protocol/client-messages.dto';
import { SYMBOL_PATTERN } from '../protocol/symbol';

/**
 * What `GET /realtime/sse` reads from its request, as pure functions (unit-tested): the
 * topics of the query (`symbols`, `portfolios`), and the resume cursor of `Last-Event-ID`
 * (or `?last_event_id=`), the event id of every `asset_update` of the stream.
 */

/** The longest event id accepted back (the server writes at most MAX_SUBSCRIPTIONS_PER_CONNECTION entries of ≤ 50 characters). */
export const MAX_CURSOR_LENGTH = 8192;
/** Largest portfolio id (PostgreSQL integer). */
const MAX_PORTFOLIO_ID = 2_147_483_647;
const CURSOR_ENTRY = /^([A-Z0-9][A-Z0-9.\-=^]{0,31}):(0|[1-9][0-9]{0,15})$/;

export interface SseQuery {
  /** Upper-cased, unique, in the order given. */
  symbols: string[];
  portfolios: number[];
  /** The raw `last_event_id` query parameter (for clients that cannot set Last-Event-ID), if any. */
  lastEventId: string | null;
}

export type SseQueryResult = { ok: true; query: SseQuery } | { ok: false; problems: string[] };

/** A comma list given once or several times (`?symbols=A,B&symbols=C`), without empty items. */
function list(params: URLSearchParams, name: string): string[] {
  return params
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * `symbols` (same syntax and per-message limit as subscribe_asset) and `portfolios`
 * (positive integers); together at most `maxSubscriptions`. Problems are listed one per line
 * (the 400's `details`), nothing is looked up here.
 */
export function parseSseQuery(params: URLSearchParams, maxSubscriptions: number): SseQueryResult {
  const problems: string[] = [];
  const symbols: string[] = [];
  const badSymbols: string[] = [];
  for (const raw of list(params, 'symbols')) {
    const s = raw.toUpperCase();
    if (!SYMBOL_PATTERN.test(s)) badSymbols.push(raw.slice(0, 40));
    else if (!symbols.includes(s)) symbols.push(s);
  }
  if (badSymbols.length > 0)
    problems.push(`symbols: each symbol must be 1-32 characters of A-Z, 0-9 and . - = ^ (got ${badSymbols.map((s) => JSON.stringify(s)).join(', ')})`);
  if (symbols.length > MAX_SYMBOLS_PER_MESSAGE) problems.push(`symbols: at most ${MAX_SYMBOLS_PER_MESSAGE} symbols`);
  const portfolios: number[] = [];
  for (const raw of list(params, 'portfolios')) {
    const id = /^[0-9]{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (!(id >= 1 && id <= MAX_PORTFOLIO_ID)) {
      problems.push(`portfolios: each portfolio id must be an integer from 1 to ${MAX_PORTFOLIO_ID} (got ${JSON.stringify(raw.slice(0, 40))})`);
      break;
    }
    if (!portfolios.includes(id)) portfolios.push(id);
  }
  if (problems.length === 0 && symbols.length + portfolios.length > maxSubscriptions) {
    problems.push(`at most ${maxSubscriptions} subscriptions per connection (symbols and portfolios together; got ${symbols.length + portfolios.length})`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, query: { symbols, portfolios, lastEventId: params.get('last_event_id') } };
}

/**
 * A resume cursor (`AAPL:123,MSFT:456`: the last seq sent per symbol), read strictly: at most
 * MAX_CURSOR_LENGTH characters and `maxEntries` entries, each an upper-case symbol of the
 * protocol's syntax, a colon and a safe integer, no symbol twice. Anything else is null (the
 * caller treats it as absent, like a stream opened without one).
 */
export function parseSseCursor(raw: string | string[] | null | undefined, maxEntries: number): Map<string, number> | null {
  if (typeof raw !== 'string') return null;
  const text = raw.trim();
  if (text === '' || text.length > MAX_CURSOR_LENGTH) return null;
  const entries = text.split(',');
  if (entries.length > maxEntries) return null;
  const out = new Map<string, number>();
  for (const entry of entries) {
    const m = CURSOR_ENTRY.exec(entry);
    if (!m) return null;
    const seq = Number(m[2]);
    if (!Number.isSafeInteger(seq) || out.has(m[1])) return null;
    out.set(m[1], seq);
  }
  return out;
}

/** The event id of an `asset_update`: `SYMBOL:seq` per symbol, comma-separated (no newline, so a valid SSE id). */
export function formatSseCursor(entries: Iterable<readonly [string, number]>): string {
  let out = '';
  for (const [symbol, seq] of entries) out += (out === '' ? '' : ',') + symbol + ':' + seq;
  return out;
}
