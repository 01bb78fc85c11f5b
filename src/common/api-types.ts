/**
 * The REST API's response bodies: ONE place, plain types only (no runtime
 * imports), so the server, the typed client (client/api-types.ts re-exports
 * them) and the pages (web/src/shared/api.ts) share them with `import type`.
 *
 * The server's OpenAPI response DTO classes (`*.responses.dto.ts`) `implement`
 * these interfaces, and each DTO file asserts that class and interface have the
 * same fields with the same types at every level (`StrictSame`), so a change
 * here that the documentation does not follow fails to compile.
 *
 * Conventions (docs/api.md): snake_case fields; money, prices, quantities and
 * percentages are decimal strings ("150.25", "-0.6321"), never floats;
 * timestamps are ISO 8601 strings (UTC).
 */
import type { ErrorCode } from '../realtime/protocol/error-codes';
import type { ServerLimits } from '../realtime/protocol/server-messages';

/** A decimal number as a string: an optional "-", digits, an optional fraction; no exponent, trailing zeros trimmed ("150.25", "-2.5", "0"). */
export type DecimalString = string;
/** ISO 8601 date-time in UTC ("2026-11-25T22:50:00.000Z"). */
export type IsoDateTime = string;

// ---------------------------------------------------------------- errors

/** Every HTTP error (src/common/http-exception.filter.ts): never a stack trace. */
export interface ErrorResponse {
  /** The HTTP status code, repeated. */
  statusCode: number;
  /** The status name: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, TOO_MANY_REQUESTS, SERVICE_UNAVAILABLE, ... */
  error: string;
  /** What went wrong, for people (validation problems joined with "; "). */
  message: string;
  /** Validation problems (one line each), or structured details such as `{retry_after}` (429). */
  details?: string[] | Record<string, unknown>;
}

// ---------------------------------------------------------------- /auth

/** A user as the API shows it (never the password hash). */
export interface UserJson {
  id: number;
  username: string;
  is_staff: boolean;
  created_at: IsoDateTime;
}

/** POST /auth/logout. */
export interface LogoutJson {
  /** False when there was no login to end. */
  logged_out: boolean;
}

// ---------------------------------------------------------------- /api/assets

/** An asset as the REST API shows it: snake_case, money as decimal strings. */
export interface AssetJson {
  symbol: string;
  name: string;
  asset_type: string;
  currency: string;
  exchange: string | null;
  current_price: DecimalString | null;
  previous_close: DecimalString | null;
  day_high: DecimalString | null;
  day_low: DecimalString | null;
  volume: DecimalString | null;
  last_updated: IsoDateTime | null;
  source: string | null;
  /** current_price − previous_close (null when either is unknown). */
  change: DecimalString | null;
  /** change / previous_close × 100, 4 decimals (null when unknown, "0" when previous_close is 0). */
  change_percent: DecimalString | null;
}

/** GET /api/assets. */
export interface AssetPage {
  items: AssetJson[];
  total: number;
  limit: number;
  offset: number;
}

/** One daily bar of GET /api/assets/:symbol/history. */
export interface HistoryPointJson {
  timestamp: IsoDateTime;
  open: DecimalString;
  high: DecimalString;
  low: DecimalString;
  close: DecimalString;
  volume: DecimalString;
}

/** GET /api/assets/:symbol/history: daily bars, oldest first. */
export interface AssetHistoryJson {
  symbol: string;
  interval: '1d';
  days: number;
  items: HistoryPointJson[];
}

// ---------------------------------------------------------------- /api/portfolios

/** A position with its valuation (valuation.math.ts). */
export interface PositionJson {
  id: number;
  portfolio_id: number;
  symbol: string;
  name: string;
  asset_type: string;
  currency: string;
  quantity: DecimalString;
  average_cost: DecimalString;
  current_price: DecimalString | null;
  previous_close: DecimalString | null;
  last_updated: IsoDateTime | null;
  /** quantity × price; "0" without a price. */
  market_value: DecimalString;
  /** quantity × average_cost. */
  cost_basis: DecimalString;
  /** market_value − cost_basis; null without a price. */
  unrealized_gain: DecimalString | null;
  unrealized_gain_percent: DecimalString | null;
  /** quantity × (price − previous_close); "0" without a price. */
  daily_change: DecimalString;
  daily_change_percent: DecimalString;
  created_at: IsoDateTime;
  updated_at: IsoDateTime;
}

/** A portfolio with its valuation; `positions` only on GET /api/portfolios/:id. */
export interface PortfolioJson {
  id: number;
  name: string;
  description: string;
  base_currency: string;
  created_at: IsoDateTime;
  updated_at: IsoDateTime;
  positions_count: number;
  total_value: DecimalString;
  daily_change: DecimalString;
  daily_change_percent: DecimalString;
  cost_basis: DecimalString;
  unrealized_gain: DecimalString;
  unrealized_gain_percent: DecimalString;
  /** True when a position has no price or a price older than 3 feed intervals. */
  stale: boolean;
  /** Newest price time among the positions (null when none was ever updated by a feed). */
  as_of: IsoDateTime | null;
  positions?: PositionJson[];
}

/** GET /api/portfolios: the caller's portfolios with their valuation, without positions. */
export interface PortfolioList {
  items: PortfolioJson[];
  total: number;
}

/** GET /api/portfolios/:id/positions. */
export interface PositionList {
  items: PositionJson[];
  total: number;
}

/** The transaction types (src/portfolios/ledger/ledger.types.ts has what each one means). */
export type TransactionTypeName = 'BUY' | 'SELL' | 'DIVIDEND' | 'FEE' | 'SPLIT' | 'DEPOSIT' | 'WITHDRAWAL';

/** One transaction of a portfolio's ledger (GET/POST/PATCH /api/portfolios/:id/transactions). */
export interface TransactionJson {
  id: number;
  portfolio_id: number;
  type: TransactionTypeName;
  /** Upper-case symbol; null for DEPOSIT / WITHDRAWAL and a FEE not tied to a holding. */
  symbol: string | null;
  /** Shares (BUY, SELL, DIVIDEND), or the split ratio (SPLIT); null when not used. */
  quantity: DecimalString | null;
  /** Per share (BUY, SELL, DIVIDEND), or the amount (FEE, DEPOSIT, WITHDRAWAL); null for a SPLIT. */
  price: DecimalString | null;
  fee: DecimalString;
  /** ISO 4217 code. */
  currency: string;
  /** Calendar day YYYY-MM-DD. */
  date: string;
  note: string | null;
  created_at: IsoDateTime;
}

/** GET /api/portfolios/:id/transactions, in replay order (date, then id). */
export interface TransactionList {
  items: TransactionJson[];
  /** Every transaction of the portfolio (not only this page). */
  total: number;
  limit: number;
  offset: number;
}

/** A holding as the replay of the ledger computes it (the import report's `positions`). */
export interface LedgerHoldingJson {
  symbol: string;
  quantity: DecimalString;
  /** cost_basis ÷ quantity. */
  average_cost: DecimalString;
  /** What the shares held cost, fees included. */
  cost_basis: DecimalString;
}

/** Why a replay refused the ledger (also the `details` of a 400 after a refused change). */
export interface LedgerProblemJson {
  code: 'SELL_EXCEEDS_HOLDING' | 'WITHDRAWAL_EXCEEDS_CASH' | 'NOTHING_TO_SPLIT' | 'INVALID';
  message: string;
  /** The stored transaction it is about (absent for a transaction being created, or a CSV line). */
  transaction_id?: number;
  /** The CSV line it is about (import only). */
  line?: number;
}

/** One refused CSV line of an import. */
export interface ImportRejectedLine {
  /** Line number in the file (the header is line 1). */
  line: number;
  errors: string[];
}

/** POST /api/portfolios/:id/transactions/import (the `details` of its 400 when nothing was written). */
export interface TransactionImportReport {
  dry_run: boolean;
  /** Lines that passed their own checks. */
  accepted: number;
  rejected: ImportRejectedLine[];
  /** What the replay of the existing transactions plus the imported ones refused, if anything. */
  problem: LedgerProblemJson | null;
  /** The holdings after the import (what positions are, or would be); empty when refused. */
  positions: LedgerHoldingJson[];
}

// ---------------------------------------------------------------- /api/realtime/force_price_update/

export type ForceUpdateStatus = 'updated' | 'unchanged' | 'unknown' | 'rejected' | 'unavailable' | 'failed';

/** One symbol's outcome (prices here are JSON numbers, like the socket messages). */
export interface ForceUpdateItem {
  symbol: string;
  status: ForceUpdateStatus;
  price?: number;
  previous_close?: number | null;
  change?: number | null;
  change_percent?: number | null;
  source?: string | null;
  /** Why a quote was rejected (status `rejected`). */
  reason?: string;
  message?: string;
}

/** POST /api/realtime/force_price_update/. */
export interface ForceUpdateResponse {
  results: ForceUpdateItem[];
  /** How many symbols got a new price. */
  updated: number;
  timestamp: IsoDateTime;
}

// ---------------------------------------------------------------- /realtime/websocket-info/, /realtime/status/

/** GET /realtime/websocket-info/: where and how to connect (the guide's shape). */
export interface WebSocketInfo {
  /** ws:// or wss:// URL of the raw WebSocket endpoint, built from the request's host. */
  websocket_url: string;
  connection_info: {
    protocol: 'ws' | 'wss';
    host: string;
    path: string;
    authentication: 'session-based';
    socketio: { url: string; namespace: string; path: string };
    /** The Server-Sent Events fallback: the stream (GET) and where its client messages are POSTed. */
    sse: { url: string; path: string; messages_path: string };
    /** Seconds between server heartbeats. */
    heartbeat_interval: number;
    /** Seconds of silence after which the server drops the peer. */
    connection_timeout: number;
    limits: ServerLimits;
  };
  /** One line per client and server message type. */
  message_types: Record<string, string>;
  client_message_types: string[];
  server_message_types: string[];
  error_codes: ErrorCode[];
}

export interface InstanceSummary {
  id: string;
  connections: number;
  connections_by_transport: { websocket: number; socketio: number; sse: number };
  authenticated_users: number;
  last_seen: IsoDateTime;
  /** True for the instance that answered the request. */
  self: boolean;
}

/** `global_stats` of /realtime/status/ (the guide's fields, plus the cluster's). */
export interface GlobalStats {
  /** `cluster`: every live instance (REDIS_URL); `instance`: this one only (no REDIS_URL, or Redis not answering). */
  scope: 'cluster' | 'instance';
  total_connections: number;
  authenticated_users: number;
  portfolio_subscriptions: number;
  asset_subscriptions: number;
  distinct_assets: number;
  distinct_portfolios: number;
  connections_by_transport: { websocket: number; socketio: number; sse: number };
  conflated_connections: number;
  instances: InstanceSummary[];
}

export type FeedRole = 'leader' | 'standby' | 'stopped' | 'disabled';

/** The separate feed process's heartbeat (PRICE_FEED_MODE=external with Redis). */
export interface FeedHeartbeat {
  host: string;
  pid: number;
  role: FeedRole;
  last_run_at: IsoDateTime | null;
  interval_seconds: number;
  batch_size: number;
}

/** What the status endpoint shows about prices: is a feed running (here or elsewhere), how fresh are prices, how are the vendors. */
export interface PriceFeedStatusSnapshot {
  mode: string;
  /** A feed wrote prices recently: this process (inprocess/standalone), or a separate process seen through Redis. */
  price_feed_running: boolean;
  role: FeedRole;
  interval_seconds: number;
  batch_size: number;
  last_run_at: IsoDateTime | null;
  last_run_ms: number | null;
  runs: number;
  skipped_runs: number;
  failed_batches: number;
  rejected_quotes: number;
  carried_quotes: number;
  last_error: string | null;
  /** The separate feed process's heartbeat (PRICE_FEED_MODE=external with Redis). */
  external_feed: FeedHeartbeat | null;
  cache: { cached_symbols: number; stale_symbols: string[]; stale_after_seconds: number };
  /** Per vendor: its circuit breaker state and last error. */
  vendors: Record<string, { breaker: string; last_error: string | null }>;
}

/** The caller's own connections on the instance that answered (logged-in callers only). */
export interface RealtimeUserStats {
  connection_count: number;
  subscriptions: { portfolios: number[]; assets: string[] };
}

/** GET /realtime/health/ (the guide's health view; logged in). */
export interface RealtimeHealthJson {
  price_feed_running: boolean;
  /** Open sockets of the whole service (every live API instance with REDIS_URL). */
  active_connections: number;
  timestamp: IsoDateTime;
}

/** GET /realtime/status/. */
export interface RealtimeStatus {
  service_status: 'running';
  global_stats: GlobalStats;
  /** The guide's health check field (same as price_feed.price_feed_running). */
  price_feed_running: boolean;
  price_feed: PriceFeedStatusSnapshot;
  user_stats?: RealtimeUserStats;
}

// ---------------------------------------------------------------- /health

/** GET /health (liveness): 200 while the process answers; no database or Redis call. */
export interface HealthLiveJson {
  /** `degraded` while the Redis link is down (still 200). */
  status: 'ok' | 'degraded';
  bus: 'memory' | 'redis';
  redis: 'up' | 'down' | 'not configured';
  uptime_s: number;
  timestamp: IsoDateTime;
}

/** Ranges of GET /api/portfolios/{id}/history and /performance (calendar days in UTC, ending today). */
export type PerformanceRange = '1d' | '1w' | '1m' | '3m' | 'ytd' | '1y' | '5y' | 'all';

/** One day of a portfolio's value history (at that day's close; today: live prices). */
export interface PortfolioHistoryPoint {
  date: string;
  /** Holdings at that day's close + cash. */
  value: DecimalString;
  cost_basis: DecimalString;
  cash: DecimalString;
  /** Deposits − withdrawals since the first transaction (implicit deposits included). */
  net_flows: DecimalString;
  /** That day's external flow. */
  flow: DecimalString;
}

/** One point of a portfolio's intraday value series (recorded from the live valuation while its value moves: a point per minute at most). */
export interface PortfolioIntradayPoint {
  /** The start of the minute it was recorded in. */
  t: IsoDateTime;
  /** Total value then (holdings at live prices, as in portfolio_update). */
  value: DecimalString;
}

export interface PortfolioHistory {
  portfolio_id: number;
  /** The currency of every amount (the portfolio's base currency). */
  base_currency: string;
  range: PerformanceRange;
  from: string;
  to: string;
  points: PortfolioHistoryPoint[];
  /** Only with `range=1d`: the intraday series of the last 24 hours, oldest first. */
  intraday?: PortfolioIntradayPoint[];
}

/** One slice of an allocation: the value with that key and its share of the total (the shares sum to exactly 1). */
export interface AllocationSliceJson {
  key: string;
  value: DecimalString;
  share: DecimalString;
}

export interface PortfolioPerformance {
  portfolio_id: number;
  /** The currency of every amount (the portfolio's base currency). */
  base_currency: string;
  range: PerformanceRange;
  from: string;
  to: string;
  /** Value at the close of the day before `from`. */
  start_value: DecimalString;
  end_value: DecimalString;
  /** Deposits − withdrawals within the range. */
  net_flows: DecimalString;
  /** Time-weighted return over the range (0.05 = 5 %), daily chain-linked, flows at the start of their day. */
  time_weighted_return: DecimalString;
  /** The same annualised, for ranges of a year or more (else null). */
  time_weighted_return_annualised: DecimalString | null;
  /** Money-weighted return (XIRR, annual rate, Act/365) over the range; null when it has no solution. */
  money_weighted_return: DecimalString | null;
  /** Realised P/L, dividends and fees within the range. */
  realised_pl: DecimalString;
  dividends: DecimalString;
  fees: DecimalString;
  /** Now, at live prices: market value − cost basis of the holdings. */
  unrealised_pl: DecimalString;
  /** The part of unrealised_pl that comes from exchange rates moving since the shares were bought (0 when everything is in the base currency). */
  unrealised_fx_effect: DecimalString;
  market_value: DecimalString;
  cost_basis: DecimalString;
  cash: DecimalString;
  /** Holdings without a price (valued at cost). */
  unpriced: string[];
  /** Now, at live prices (cash as CASH). */
  allocation: { by_holding: AllocationSliceJson[]; by_asset_type: AllocationSliceJson[]; by_currency: AllocationSliceJson[] };
}
