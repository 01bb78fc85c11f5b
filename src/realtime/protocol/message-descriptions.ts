import type { ClientMessageType } from './client-messages';
import type { DisconnectCode, ErrorCode } from './error-codes';
import type { ServerMessageType } from './server-messages';

/** One line per message type, served by GET /realtime/websocket-info/. */
export const CLIENT_MESSAGE_DESCRIPTIONS: Record<ClientMessageType, string> = {
  ping: 'Health check message; the server answers pong',
  subscribe_asset:
    'Subscribe to asset price updates ({symbol} or {symbols: [...]}); a snapshot follows at once. After a reconnect add since_seq (or since: {SYMBOL: seq}) to get the missed updates replayed',
  unsubscribe_asset: 'Stop asset price updates ({symbol} or {symbols: [...]})',
  subscribe_portfolio:
    "Subscribe to live value updates of one of your portfolios ({portfolio_id}; login required); with since_seq, a fresh update flagged snapshot follows; with series: '1d', the intraday value series (portfolio_series) and then each new point (portfolio_point)",
  unsubscribe_portfolio: 'Stop portfolio value updates ({portfolio_id})',
  list_subscriptions: "List this connection's subscriptions",
  set_options:
    'Set delivery options: {batch_ms: 50} for batched asset_updates frames (0 = off); portfolio_min_change_bps, portfolio_max_interval, portfolio_positions for portfolio_update pushes',
};

export const SERVER_MESSAGE_DESCRIPTIONS: Record<ServerMessageType, string> = {
  connection: 'Connection established: connection_id, authenticated, user_id, heartbeat interval and limits',
  pong: 'Answer to ping, with the last seq sent per subscribed topic (last_seq: a lower last seen seq means a missed update)',
  subscribed:
    'Subscription acknowledged: what was added and all current subscriptions; answering a resume (since_seq / since), whether the missed updates follow (recovered)',
  unsubscribed: 'Unsubscription acknowledged (or subscriptions removed by the server, with a reason)',
  subscriptions: "The connection's current subscriptions (answer to list_subscriptions)",
  options: 'Delivery options now in effect (answer to set_options)',
  asset_update: 'Asset price update: symbol, price, change, change_percent, volume, high, low, seq, market_state',
  asset_updates: 'Batched asset price updates (only for connections that asked for batching)',
  portfolio_update: 'Portfolio value update: portfolio_id, name, total_value, daily_change, daily_change_percent',
  portfolio_series:
    'The intraday value series of a portfolio subscribed with series (sent once, after subscribed): portfolio_id, range, points [{t, value}] oldest first, a point per minute at most while the value moves',
  portfolio_point: 'A point just recorded in the intraday value series of a portfolio subscribed with series: portfolio_id, t, value (append it)',
  status:
    'Why subscribed symbols go quiet or come back: their market closed or reopened, the price feed cannot price them (vendor down, no quotes) or can again, or this connection is conflated (delayed) or caught up; told apart by reason',
  error: 'A message was refused: {code, message, request_type, id}',
};

/** When each `error` code is sent (served in the AsyncAPI document, GET /realtime/asyncapi.json). */
export const ERROR_CODE_DESCRIPTIONS: Record<ErrorCode, string> = {
  INVALID_JSON: 'The frame is not JSON text: malformed JSON, or a binary frame / binary Socket.IO payload',
  VALIDATION_FAILED: 'The message is JSON but its shape or a field is wrong (`details` lists each problem, one line per field)',
  UNKNOWN_TYPE: '`type` is not a client message type this server knows',
  UNKNOWN_SYMBOL: 'A well-formed symbol that is not in the asset catalog (the whole request is refused; `symbols` lists the unknown ones)',
  AUTH_REQUIRED: 'The request needs a logged-in session (portfolio subscriptions), or the session ended',
  NOT_FOUND: 'No such portfolio for this user (someone else’s portfolio gets the same answer)',
  SUBSCRIPTION_LIMIT: 'The request would take the connection over MAX_SUBSCRIPTIONS_PER_CONNECTION (nothing of it is added)',
  RATE_LIMITED: 'Too many messages: wait `retry_after` seconds (persistent abuse closes the connection with 1008)',
  INTERNAL: 'A server-side failure (details are logged, not sent); the connection stays usable',
  SERVICE_UNAVAILABLE: 'The database did not answer in time or cannot be reached: nothing of the request was applied; try again shortly',
};

/** The codes of Socket.IO `error` events sent just before the server disconnects (the raw endpoint closes with 1008 and the same reason). */
export const DISCONNECT_CODE_DESCRIPTIONS: Record<DisconnectCode, string> = {
  IDLE_TIMEOUT: 'Socket.IO only, then a disconnect: no valid message and no subscription within WS_IDLE_TIMEOUT seconds of connecting',
  PROTOCOL_ERRORS: 'Socket.IO only, then a disconnect: WS_MAX_PROTOCOL_ERRORS invalid messages within a minute',
  CONNECTION_LIMIT: 'Socket.IO only, then a disconnect: a handshake lost the race for its user’s last connection slot (MAX_CONNECTIONS_PER_USER)',
};
