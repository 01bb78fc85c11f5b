/**
 * One example envelope per message type, for the AsyncAPI document. Typed with
 * the protocol's own types (a wrong field fails to compile); the unit test runs
 * the client examples through the server's parser and the server examples
 * through the JSON schemas' required fields.
 */
import type { ClientMessageOf, ClientMessageType } from './client-messages';
import type { ServerMessage, ServerMessageType } from './server-messages';

const T = '2026-01-15T10:30:00.000Z';

export const CLIENT_MESSAGE_EXAMPLES: { [K in ClientMessageType]: ClientMessageOf<K> } = {
  ping: { type: 'ping', data: {}, id: 1 },
  subscribe_asset: { type: 'subscribe_asset', data: { symbols: ['AAPL', 'MSFT', 'BTC-USD'] }, id: 'watchlist' },
  unsubscribe_asset: { type: 'unsubscribe_asset', data: { symbol: 'AAPL' } },
  subscribe_portfolio: { type: 'subscribe_portfolio', data: { portfolio_id: 123, series: '1d' }, id: 7 },
  unsubscribe_portfolio: { type: 'unsubscribe_portfolio', data: { portfolio_id: 123 } },
  list_subscriptions: { type: 'list_subscriptions', data: {} },
  set_options: { type: 'set_options', data: { batch_ms: 50, portfolio_min_change_bps: 25, portfolio_max_interval: 30, portfolio_positions: true } },
};

const AAPL = {
  symbol: 'AAPL',
  price: 150.25,
  change: 2.5,
  change_percent: 1.692,
  volume: 50000000,
  high: 151,
  low: 148.5,
  previous_close: 147.75,
  as_of: '2026-01-15T10:29:58.000Z',
  source: 'yahoo',
  seq: 42,
  published_at: 1768473000123,
  market_state: 'open' as const,
};

export const SERVER_MESSAGE_EXAMPLES: { [K in ServerMessageType]: ServerMessage<K> } = {
  connection: {
    type: 'connection',
    data: {
      status: 'connected',
      connection_id: '5d1c2c9e-8a55-4a8e-9f3e-0c1d2e3f4a5b',
      authenticated: true,
      user_id: 123,
      transport: 'websocket',
      heartbeat_interval: 25,
      connection_timeout: 300,
      limits: {
        max_subscriptions_per_connection: 50,
        max_connections_per_user: 5,
        max_payload_bytes: 65536,
        rate_limit_per_second: 20,
        rate_burst: 40,
        idle_timeout: 10,
        max_protocol_errors_per_minute: 20,
      },
      batch_ms: 0,
      server_time: T,
    },
    timestamp: T,
  },
  pong: { type: 'pong', data: { server_time: T, last_seq: { assets: { AAPL: 18234, MSFT: 17702 }, portfolios: { 7: 41 } } }, timestamp: T, id: 1 },
  subscribed: {
    type: 'subscribed',
    data: { assets: ['AAPL'], portfolios: [], subscriptions: { assets: ['AAPL', 'MSFT'], portfolios: [123] } },
    timestamp: T,
    id: 'watchlist',
  },
  unsubscribed: {
    type: 'unsubscribed',
    data: { assets: [], portfolios: [123], subscriptions: { assets: ['AAPL'], portfolios: [] }, reason: 'session_ended' },
    timestamp: T,
  },
  subscriptions: { type: 'subscriptions', data: { subscriptions: { assets: ['AAPL'], portfolios: [123] } }, timestamp: T },
  options: {
    type: 'options',
    data: { batch_ms: 50, portfolio_min_change_bps: 25, portfolio_max_interval: 30, portfolio_positions: true },
    timestamp: T,
  },
  asset_update: { type: 'asset_update', data: AAPL, timestamp: T },
  asset_updates: {
    type: 'asset_updates',
    data: { updates: [AAPL, { ...AAPL, symbol: 'MSFT', price: 414.1, change: -1.2, change_percent: -0.2889, previous_close: 415.3, seq: 17 }] },
    timestamp: T,
  },
  portfolio_update: {
    type: 'portfolio_update',
    data: {
      portfolio_id: 123,
      name: 'Growth Portfolio',
      total_value: 50000,
      daily_change: 125.5,
      daily_change_percent: 0.25,
      positions_count: 8,
      as_of: '2026-01-15T10:29:58.000Z',
      stale: false,
      seq: 17,
      positions: [
        {
          symbol: 'AAPL',
          quantity: '100',
          current_price: '150.25',
          previous_close: '147.75',
          market_value: '15025',
          daily_change: '250',
          daily_change_percent: '1.692',
          as_of: '2026-01-15T10:29:58.000Z',
        },
      ],
      positions_complete: false,
    },
    timestamp: T,
  },
  portfolio_series: {
    type: 'portfolio_series',
    data: {
      portfolio_id: 123,
      range: '1d',
      points: [
        { t: '2026-01-15T10:27:00.000Z', value: '49987.25' },
        { t: '2026-01-15T10:28:00.000Z', value: '49990.5' },
        { t: '2026-01-15T10:30:00.000Z', value: '50000' },
      ],
    },
    timestamp: T,
  },
  portfolio_point: {
    type: 'portfolio_point',
    data: { portfolio_id: 123, t: '2026-01-15T10:31:00.000Z', value: '50012.75' },
    timestamp: '2026-01-15T10:31:00.004Z',
  },
  status: {
    type: 'status',
    data: {
      symbols: ['AAPL', 'MSFT'],
      state: 'quiet',
      reason: 'market_closed',
      market: 'us_equities',
      market_state: 'closed',
      next_change: '2026-01-16T09:00:00.000Z',
      message: 'US equities market closed until 2026-01-16T09:00:00.000Z: prices may not change until it reopens',
    },
    timestamp: '2026-01-16T01:00:00.000Z',
  },
  error: {
    type: 'error',
    data: { code: 'UNKNOWN_SYMBOL', message: 'Unknown symbol: NOSUCH', request_type: 'subscribe_asset', id: 17, symbols: ['NOSUCH'] },
    timestamp: T,
    id: 17,
  },
};

/**
 * `status` messages about the price feed's vendors (SERVER_MESSAGE_EXAMPLES.status is the market kind):
 * a vendor outage, then its recovery, and a symbol no vendor quotes.
 */
export const FEED_STATUS_EXAMPLES: ServerMessage<'status'>[] = [
  {
    type: 'status',
    data: {
      symbols: ['AAPL', 'MSFT'],
      state: 'quiet',
      reason: 'vendor_unavailable',
      vendor: 'yahoo',
      since: '2026-01-15T10:29:31.000Z',
      message: 'Prices delayed: yahoo is unavailable since 2026-01-15T10:29:31.000Z; the last prices stay until it answers again',
    },
    timestamp: T,
  },
  {
    type: 'status',
    data: {
      symbols: ['AAPL', 'MSFT'],
      state: 'live',
      reason: 'vendor_recovered',
      vendor: 'yahoo',
      since: '2026-01-15T10:35:01.000Z',
      message: 'yahoo answers again: prices update again',
    },
    timestamp: '2026-01-15T10:35:01.012Z',
  },
  {
    type: 'status',
    data: {
      symbols: ['VFIAX'],
      state: 'quiet',
      reason: 'no_quotes',
      vendor: null,
      since: '2026-01-15T10:29:31.000Z',
      message: 'No quotes from any vendor since 2026-01-15T10:29:31.000Z; the last prices stay until quotes resume',
    },
    timestamp: T,
  },
];
