/**
 * JSON Schemas (draft-07, the AsyncAPI default schema format) of every message
 * of the realtime protocol, for the AsyncAPI document (GET /realtime/asyncapi.json).
 *
 * They sit next to the TypeScript types they describe (client-messages.ts,
 * server-messages.ts) and are checked against them AT COMPILE TIME: `FromSchema`
 * turns each schema into the type it accepts, and `StrictSame` (mutual assignability, same keys)
 * must hold for every message type (see the `_…Fit` types at the bottom), so a
 * field added, removed, renamed, retyped or made optional on either side breaks
 * `npm run typecheck`. The limits come from the constants the DTOs use
 * (client-messages.dto.ts); test/unit/realtime/message-schemas.spec.ts checks
 * the schemas against the DTOs' class-validator metadata and runs the examples
 * through the server's own parser.
 */
import type { AssertTrue, StrictSame } from '../../common/type-checks';
import type { ClientMessageMap, ClientMessageOf, ClientMessageType, MessageId } from './client-messages';
import {
  BATCH_MS_MAX,
  BATCH_MS_MIN,
  MAX_ID_LENGTH,
  MAX_PORTFOLIO_ID,
  MAX_SYMBOLS_PER_MESSAGE,
  PORTFOLIO_MAX_INTERVAL_MAX,
  PORTFOLIO_MIN_CHANGE_BPS_MAX,
  PORTFOLIO_SERIES_RANGES,
  SYMBOL_PATTERN,
} from './client-messages.dto';
import { DISCONNECT_CODES, ERROR_CODES } from './error-codes';
import type { ServerMessage, ServerMessageMap, ServerMessageType } from './server-messages';

// ---- the type a schema accepts (the subset of JSON Schema used below) ------

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<S> = S extends { readonly required: readonly (infer R)[] } ? R : never;
type FromObject<S> = S extends { readonly properties: infer P }
  ? Simplify<
      { -readonly [K in keyof P as K extends RequiredKeys<S> ? K : never]: FromSchema<P[K]> } & {
        -readonly [K in keyof P as K extends RequiredKeys<S> ? never : K]?: FromSchema<P[K]>;
      }
    >
  : S extends { readonly additionalProperties: false }
    ? Record<string, never>
    : S extends { readonly additionalProperties: infer A extends object }
      ? Record<string, FromSchema<A>>
      : Record<string, unknown>;
type FromArray<S> = S extends { readonly items: infer I } ? FromSchema<I>[] : unknown[];
type FromType<T, S> = T extends 'null'
  ? null
  : T extends 'string'
    ? string
    : T extends 'integer' | 'number'
      ? number
      : T extends 'boolean'
        ? boolean
        : T extends 'array'
          ? FromArray<S>
          : T extends 'object'
            ? FromObject<S>
            : never;

/** The TypeScript type of the values a schema accepts (const, enum, type or type list, oneOf). */
export type FromSchema<S> = S extends { readonly const: infer C }
  ? C
  : S extends { readonly enum: readonly (infer E)[] }
    ? E
    : S extends { readonly type: infer T }
      ? FromType<T extends readonly (infer U)[] ? U : T, S>
      : S extends { readonly oneOf: readonly (infer U)[] }
        ? FromSchema<U>
        : unknown;

// ---- shared pieces ---------------------------------------------------------

const SYMBOL = {
  type: 'string',
  pattern: SYMBOL_PATTERN.source,
  maxLength: 32,
  description: 'A symbol (trimmed and upper-cased by the server first): AAPL, BTC-USD, EURUSD, BRK.B',
} as const;
const SYMBOL_LIST = { type: 'array', items: SYMBOL } as const;
const PORTFOLIO_IDS = { type: 'array', items: { type: 'integer' } } as const;
const DATE_TIME = { type: 'string', format: 'date-time' } as const;
const MESSAGE_ID = {
  type: ['string', 'integer'],
  minLength: 1,
  maxLength: MAX_ID_LENGTH,
  description: `Optional correlation id (a string of 1-${MAX_ID_LENGTH} characters or an integer), echoed as \`id\` on the reply`,
} as const;
const MARKET_STATE = { enum: ['open', 'closed', 'pre', 'post'] } as const;
const SUBSCRIPTIONS = {
  type: 'object',
  description: 'Everything the connection holds now',
  required: ['assets', 'portfolios'],
  additionalProperties: false,
  properties: { assets: SYMBOL_LIST, portfolios: PORTFOLIO_IDS },
} as const;

// ---- client -> server: `data` of each type --------------------------------

const ASSET_SELECTION = {
  type: 'object',
  description: `Exactly one of \`symbol\` or \`symbols\` (at most ${MAX_SYMBOLS_PER_MESSAGE})`,
  additionalProperties: false,
  properties: {
    symbol: SYMBOL,
    symbols: { type: 'array', items: SYMBOL, minItems: 1, maxItems: MAX_SYMBOLS_PER_MESSAGE },
  },
  oneOf: [{ required: ['symbol'] }, { required: ['symbols'] }],
} as const;
const SEQ_SEEN = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const ASSET_SUBSCRIPTION = {
  type: 'object',
  description: `Exactly one of \`symbol\` or \`symbols\` (at most ${MAX_SYMBOLS_PER_MESSAGE}); a client resuming after a reconnect adds where it stopped: \`since_seq\` with \`symbol\`, or \`since\` with \`symbols\``,
  additionalProperties: false,
  properties: {
    ...ASSET_SELECTION.properties,
    since_seq: { ...SEQ_SEEN, description: 'With `symbol`: the last `seq` received; the updates after it are replayed (see `subscribed.recovered`)' },
    since: {
      type: 'object',
      additionalProperties: SEQ_SEEN,
      description: 'With `symbols`: the last `seq` received per symbol (some or all of them); the updates after each are replayed',
    },
  },
  oneOf: [{ required: ['symbol'] }, { required: ['symbols'] }],
} as const;
const PORTFOLIO_ID = {
  type: 'integer',
  minimum: 1,
  maximum: MAX_PORTFOLIO_ID,
  description: 'A portfolio id (a string of digits such as "123" is accepted too)',
} as const;
const PORTFOLIO_SELECTION = {
  type: 'object',
  required: ['portfolio_id'],
  additionalProperties: false,
  properties: { portfolio_id: PORTFOLIO_ID },
} as const;
const PORTFOLIO_SUBSCRIPTION = {
  type: 'object',
  required: ['portfolio_id'],
  additionalProperties: false,
  properties: {
    portfolio_id: PORTFOLIO_ID,
    since_seq: { ...SEQ_SEEN, description: 'A resume: a fresh `portfolio_update` flagged `snapshot: true` follows (even when already subscribed)' },
    series: {
      enum: PORTFOLIO_SERIES_RANGES,
      description:
        'The intraday value series: one `portfolio_series` follows (`1d`: the last 24 hours), then a `portfolio_point` per point recorded (a minute at most). The latest subscribe_portfolio of a portfolio decides: one without `series` stops the points',
    },
  },
} as const;

const PORTFOLIO_MIN_CHANGE_BPS = {
  type: 'integer',
  minimum: 0,
  maximum: PORTFOLIO_MIN_CHANGE_BPS_MAX,
  description:
    '0 (default): every portfolio change is pushed. Otherwise a `portfolio_update` is pushed only when total_value moved at least this many basis points from the value last pushed to this connection (a change of name, positions_count or stale is always pushed)',
} as const;
const PORTFOLIO_MAX_INTERVAL = {
  type: 'integer',
  minimum: 0,
  maximum: PORTFOLIO_MAX_INTERVAL_MAX,
  description: `0 (default): off. 1-${PORTFOLIO_MAX_INTERVAL_MAX}: a change held back by portfolio_min_change_bps is pushed at the latest this many seconds after the last push`,
} as const;
const PORTFOLIO_POSITIONS = {
  type: 'boolean',
  description: 'true: `portfolio_update` carries `positions` (all of them on the first push after subscribing, then only the changed ones). Default false',
} as const;

/** `data` of every client message type (`satisfies`: exactly the keys of ClientMessageMap). */
export const CLIENT_DATA_SCHEMAS = {
  ping: { type: 'object', description: 'Anything (the guide’s client sends `{}`); not interpreted' },
  subscribe_asset: ASSET_SUBSCRIPTION,
  unsubscribe_asset: ASSET_SELECTION,
  subscribe_portfolio: PORTFOLIO_SUBSCRIPTION,
  unsubscribe_portfolio: PORTFOLIO_SELECTION,
  list_subscriptions: { type: 'object', description: 'Nothing, or `{}`', additionalProperties: false, maxProperties: 0 },
  set_options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      batch_ms: {
        type: 'integer',
        oneOf: [{ const: 0 }, { minimum: BATCH_MS_MIN, maximum: BATCH_MS_MAX }],
        description: `0 turns batching off; otherwise ${BATCH_MS_MIN}-${BATCH_MS_MAX} ms between \`asset_updates\` frames`,
      },
      portfolio_min_change_bps: PORTFOLIO_MIN_CHANGE_BPS,
      portfolio_max_interval: PORTFOLIO_MAX_INTERVAL,
      portfolio_positions: PORTFOLIO_POSITIONS,
    },
  },
} as const satisfies Record<ClientMessageType, object>;

/** Client types whose `data` may be left out (the DTO's `data` is @IsOptional; the unit test checks this list against them). */
export const CLIENT_DATA_OPTIONAL = ['ping', 'list_subscriptions'] as const satisfies readonly ClientMessageType[];
type DataOptional = (typeof CLIENT_DATA_OPTIONAL)[number];

/** The envelope schema of a client message of type K. */
export function clientEnvelopeSchema<K extends ClientMessageType>(type: K) {
  const optional = (CLIENT_DATA_OPTIONAL as readonly ClientMessageType[]).includes(type);
  return {
    type: 'object',
    required: (optional ? ['type'] : ['type', 'data']) as unknown as K extends DataOptional ? readonly ['type'] : readonly ['type', 'data'],
    additionalProperties: false,
    properties: {
      type: { const: type },
      data: CLIENT_DATA_SCHEMAS[type],
      id: MESSAGE_ID,
      timestamp: { type: 'string', maxLength: 64, description: 'The guide’s client sends its send time; accepted and ignored' },
    },
  } as const;
}

// ---- server -> client: `data` of each type --------------------------------

const LIMITS = {
  type: 'object',
  required: [
    'max_subscriptions_per_connection',
    'max_connections_per_user',
    'max_payload_bytes',
    'rate_limit_per_second',
    'rate_burst',
    'idle_timeout',
    'max_protocol_errors_per_minute',
  ],
  additionalProperties: false,
  properties: {
    max_subscriptions_per_connection: { type: 'integer' },
    max_connections_per_user: { type: 'integer' },
    max_payload_bytes: { type: 'integer', description: 'Largest accepted inbound frame in bytes (larger: close 1009)' },
    rate_limit_per_second: { type: 'integer', description: 'Sustained inbound messages per second' },
    rate_burst: { type: 'integer', description: 'Extra burst allowed above the sustained rate' },
    idle_timeout: { type: 'integer', description: 'Seconds a connection may go without a valid message or a subscription before it is closed (0: never)' },
    max_protocol_errors_per_minute: { type: 'integer', description: 'Invalid messages allowed per minute before the connection is closed with 1008' },
  },
} as const;
const SUBSCRIPTION_CHANGE = {
  type: 'object',
  required: ['assets', 'portfolios', 'subscriptions'],
  additionalProperties: false,
  properties: {
    assets: { ...SYMBOL_LIST, description: 'Assets added (subscribed) or removed (unsubscribed) by this request' },
    portfolios: { ...PORTFOLIO_IDS, description: 'Portfolios added or removed by this request' },
    subscriptions: SUBSCRIPTIONS,
    reason: {
      enum: ['session_ended', 'portfolio_deleted'],
      description: 'Set when the server removed subscriptions on its own (logout or session expiry; portfolio deleted)',
    },
    recovered: {
      type: 'object',
      required: ['assets', 'portfolios'],
      additionalProperties: false,
      description: 'Only answering a subscribe with `since_seq` / `since`: per topic, whether the missed updates follow',
      properties: {
        assets: {
          type: 'object',
          additionalProperties: { type: 'boolean' },
          description:
            'Per symbol: true when every update after `since` follows in order (none if nothing was missed); false when the history did not hold them: the current snapshot follows, refetch anything derived from the missed ones',
        },
        portfolios: {
          type: 'object',
          additionalProperties: { type: 'boolean' },
          description: 'Per portfolio id: always false (a fresh `portfolio_update` with `snapshot: true` follows)',
        },
      },
    },
  },
} as const;
const ASSET_UPDATE = {
  type: 'object',
  required: [
    'symbol',
    'price',
    'change',
    'change_percent',
    'volume',
    'high',
    'low',
    'previous_close',
    'as_of',
    'source',
    'seq',
    'published_at',
    'market_state',
  ],
  additionalProperties: false,
  properties: {
    symbol: SYMBOL,
    price: { type: 'number' },
    change: { type: 'number', description: 'price − previous_close (0 when previous_close is unknown)' },
    change_percent: { type: 'number', description: 'change / previous_close × 100, 4 decimals (0 when previous_close is unknown)' },
    volume: { type: ['number', 'null'] },
    high: { type: ['number', 'null'] },
    low: { type: ['number', 'null'] },
    previous_close: { type: ['number', 'null'] },
    as_of: { ...DATE_TIME, description: 'When the vendor says the quote is from' },
    source: { type: 'string', description: 'Vendor that priced it (simulated, yahoo, alphavantage, coingecko, replay, ...)' },
    seq: {
      type: 'integer',
      description:
        'The price’s cluster-wide sequence (advanced once per committed price, the same on every server instance); strictly increases for a symbol; a snapshot carries the seq it reflects. Resume from it with `since_seq`',
    },
    published_at: { type: 'integer', description: 'Server publish time of the price batch (ms since the epoch), for latency measurement' },
    market_state: {
      ...MARKET_STATE,
      description:
        'State of the symbol’s market when the frame was built: US equities (stocks, ETFs, funds, bonds) pre 04:00-09:30, open 09:30-16:00, post 16:00-20:00 New York time on NYSE trading days; FX open Sunday 17:00 to Friday 17:00 New York time; crypto always open',
    },
  },
} as const;
const STATUS_STATE = { enum: ['quiet', 'live'], description: 'quiet: no asset_update is expected for these symbols until a `status` says live again' } as const;
const MARKET_STATUS = {
  type: 'object',
  title: 'Market status',
  description: 'A market closed (quiet) or reopened (live)',
  required: ['symbols', 'state', 'reason', 'market', 'market_state', 'next_change', 'message'],
  additionalProperties: false,
  properties: {
    symbols: { ...SYMBOL_LIST, description: 'The subscribed symbols this applies to (all on one market)' },
    state: STATUS_STATE,
    reason: { enum: ['market_closed', 'market_opened'] },
    market: { enum: ['us_equities', 'fx'], description: 'us_equities (stocks, ETFs, funds, bonds) or fx' },
    market_state: MARKET_STATE,
    next_change: { ...DATE_TIME, type: ['string', 'null'], description: 'When the market’s state next changes, null when unknown' },
    message: { type: 'string', description: 'The same in one readable sentence' },
  },
} as const;
const FEED_STATUS = {
  type: 'object',
  title: 'Feed status',
  description:
    'The price feed cannot price these symbols (quiet: every vendor of their chain is down, or none quoted them for several cycles) or can again (live)',
  required: ['symbols', 'state', 'reason', 'vendor', 'since', 'message'],
  additionalProperties: false,
  properties: {
    symbols: { ...SYMBOL_LIST, description: 'The subscribed symbols this applies to' },
    state: STATUS_STATE,
    reason: {
      enum: ['vendor_unavailable', 'no_quotes', 'vendor_recovered', 'quotes_resumed'],
      description:
        'quiet: vendor_unavailable (every vendor of their provider chain has its circuit breaker open) or no_quotes (no vendor quoted them for FEED_STALE_CYCLES feed cycles in a row); live: vendor_recovered or quotes_resumed',
    },
    vendor: {
      type: ['string', 'null'],
      description: 'vendor_unavailable and vendor_recovered: the vendor (the first of their provider chain); null otherwise',
    },
    since: { ...DATE_TIME, description: 'When the feed saw this change' },
    message: { type: 'string', description: 'The same in one readable sentence' },
  },
} as const;
const DELIVERY_STATUS = {
  type: 'object',
  title: 'Delivery status',
  description:
    'This connection fell behind (delayed: only the newest update per symbol is sent until its buffer drains, so seqs are skipped) or caught up (live)',
  required: ['symbols', 'state', 'reason', 'message'],
  additionalProperties: false,
  properties: {
    symbols: { ...SYMBOL_LIST, description: 'Every symbol the connection is subscribed to' },
    state: { enum: ['delayed', 'live'] },
    reason: { enum: ['conflated', 'caught_up'] },
    message: { type: 'string', description: 'The same in one readable sentence' },
  },
} as const;
/** `reason` tells them apart (their reasons do not overlap). */
const STATUS = { oneOf: [MARKET_STATUS, FEED_STATUS, DELIVERY_STATUS] } as const;

const DECIMAL = { type: 'string', pattern: '^-?\\d+(\\.\\d+)?$' } as const;
const PORTFOLIO_POSITION = {
  type: 'object',
  required: ['symbol', 'quantity', 'current_price', 'previous_close', 'market_value', 'daily_change', 'daily_change_percent', 'as_of'],
  additionalProperties: false,
  properties: {
    symbol: SYMBOL,
    quantity: { ...DECIMAL, description: 'Decimal string, as the REST API gives it' },
    current_price: { type: ['string', 'null'], description: 'Decimal string; null when the asset has no price yet' },
    previous_close: { type: ['string', 'null'], description: 'Decimal string; null when unknown' },
    market_value: { ...DECIMAL, description: 'quantity × current_price' },
    daily_change: { ...DECIMAL, description: 'quantity × (current_price − previous_close)' },
    daily_change_percent: { ...DECIMAL, description: 'daily_change / (quantity × previous_close) × 100, 4 decimals' },
    as_of: { type: ['string', 'null'], format: 'date-time', description: 'When the price is from; null when never updated by a feed' },
  },
} as const;

const SERIES_POINT_PROPERTIES = {
  t: { ...DATE_TIME, description: 'The start of the interval (a minute) the point was recorded in' },
  value: { ...DECIMAL, description: 'total_value then (decimal string, at most 8 decimals)' },
} as const;
const PORTFOLIO_SERIES_POINT = { type: 'object', required: ['t', 'value'], additionalProperties: false, properties: SERIES_POINT_PROPERTIES } as const;

/** `data` of every server message type (`satisfies`: exactly the keys of ServerMessageMap). */
export const SERVER_DATA_SCHEMAS = {
  connection: {
    type: 'object',
    required: [
      'status',
      'connection_id',
      'authenticated',
      'user_id',
      'transport',
      'heartbeat_interval',
      'connection_timeout',
      'limits',
      'batch_ms',
      'server_time',
    ],
    additionalProperties: false,
    properties: {
      status: { const: 'connected' },
      connection_id: { type: 'string', description: 'This connection’s id (a UUID)' },
      authenticated: { type: 'boolean', description: 'True when the handshake carried a valid session cookie' },
      user_id: { type: ['integer', 'null'], description: 'The logged-in user, null for anonymous connections' },
      transport: { enum: ['websocket', 'socketio', 'sse'] },
      sse_token: {
        type: 'string',
        description: 'Only on the SSE transport: the stream’s secret, the `X-SSE-Token` header of POST /realtime/sse/{connection_id}/messages',
      },
      heartbeat_interval: {
        type: 'integer',
        description: 'Seconds between server heartbeats (WebSocket ping frames / Engine.IO pings / SSE keep-alive comments)',
      },
      connection_timeout: { type: 'integer', description: 'Seconds of silence after which the server drops the peer' },
      limits: LIMITS,
      batch_ms: { type: 'integer', description: 'Batch interval in ms when batched frames were requested at connect, else 0' },
      server_time: DATE_TIME,
    },
  },
  pong: {
    type: 'object',
    required: ['server_time', 'last_seq'],
    additionalProperties: false,
    properties: {
      server_time: DATE_TIME,
      last_seq: {
        type: 'object',
        required: ['assets', 'portfolios'],
        additionalProperties: false,
        description:
          'Per subscribed topic, the `seq` of the last update sent on this connection (held-back updates are written before the pong): a lower last seen seq means a missed update',
        properties: {
          assets: { type: 'object', additionalProperties: { type: 'integer' } },
          portfolios: { type: 'object', additionalProperties: { type: 'integer' } },
        },
      },
    },
  },
  subscribed: SUBSCRIPTION_CHANGE,
  unsubscribed: SUBSCRIPTION_CHANGE,
  subscriptions: { type: 'object', required: ['subscriptions'], additionalProperties: false, properties: { subscriptions: SUBSCRIPTIONS } },
  options: {
    type: 'object',
    required: ['batch_ms'],
    additionalProperties: false,
    description: 'The options in effect; the portfolio_* ones only when this request set one of them or one is not at its default',
    properties: {
      batch_ms: { type: 'integer' },
      portfolio_min_change_bps: PORTFOLIO_MIN_CHANGE_BPS,
      portfolio_max_interval: PORTFOLIO_MAX_INTERVAL,
      portfolio_positions: PORTFOLIO_POSITIONS,
    },
  },
  asset_update: ASSET_UPDATE,
  asset_updates: {
    type: 'object',
    required: ['updates'],
    additionalProperties: false,
    properties: { updates: { type: 'array', items: ASSET_UPDATE, description: 'Each has exactly the shape of `asset_update.data`, in order' } },
  },
  portfolio_update: {
    type: 'object',
    required: ['portfolio_id', 'name', 'total_value', 'daily_change', 'daily_change_percent', 'positions_count', 'as_of', 'stale', 'seq'],
    additionalProperties: false,
    properties: {
      portfolio_id: { type: 'integer' },
      name: { type: 'string' },
      total_value: { type: 'number', description: 'Σ quantity × price' },
      daily_change: { type: 'number', description: 'Σ quantity × (price − previous_close)' },
      daily_change_percent: { type: 'number' },
      positions_count: { type: 'integer' },
      as_of: DATE_TIME,
      stale: { type: 'boolean', description: 'True when a position’s price is old or unknown' },
      seq: { type: 'integer', description: 'Per-portfolio sequence: strictly increases within one subscription (numbered by each server instance)' },
      snapshot: { type: 'boolean', description: 'True on the fresh update answering a resume (`since_seq`): replace what you had, whatever its seq' },
      positions: {
        type: 'array',
        items: PORTFOLIO_POSITION,
        description:
          'Only with the `portfolio_positions` option: every position (positions_complete true) or only the ones that changed since the last push to this connection',
      },
      positions_complete: {
        type: 'boolean',
        description:
          'With `positions`: true when it lists every position (the first push after subscribing, or the set of positions changed), false for only the changed ones',
      },
    },
  },
  portfolio_series: {
    type: 'object',
    required: ['portfolio_id', 'range', 'points'],
    additionalProperties: false,
    properties: {
      portfolio_id: { type: 'integer' },
      range: { enum: PORTFOLIO_SERIES_RANGES, description: 'The `series` asked for (`1d`: the last 24 hours)' },
      points: {
        type: 'array',
        items: PORTFOLIO_SERIES_POINT,
        description: 'Oldest first: a point per interval (a minute) in which the value moved, recorded from the live valuation',
      },
    },
  },
  portfolio_point: {
    type: 'object',
    required: ['portfolio_id', 't', 'value'],
    additionalProperties: false,
    properties: { portfolio_id: { type: 'integer' }, ...SERIES_POINT_PROPERTIES },
  },
  status: STATUS,
  error: {
    type: 'object',
    required: ['code', 'message', 'request_type', 'id'],
    additionalProperties: false,
    properties: {
      code: {
        type: 'string',
        enum: [...ERROR_CODES, ...DISCONNECT_CODES],
        description:
          'Stable error code (see the message description for each); IDLE_TIMEOUT, PROTOCOL_ERRORS and CONNECTION_LIMIT only on Socket.IO, just before a disconnect',
      },
      message: { type: 'string' },
      request_type: { type: ['string', 'null'], description: 'The `type` of the message that failed (null when it could not be read)' },
      id: { ...MESSAGE_ID, type: ['string', 'integer', 'null'], description: 'The failed message’s `id`, or null' },
      details: { type: 'array', items: { type: 'string' }, description: 'VALIDATION_FAILED: one line per failed field' },
      retry_after: { type: 'integer', description: 'RATE_LIMITED: seconds to wait before retrying' },
      symbols: { ...SYMBOL_LIST, description: 'UNKNOWN_SYMBOL: the symbols that were not recognised' },
    },
  },
} as const satisfies Record<ServerMessageType, object>;

/** The envelope schema of a server message of type K: `{type, data, timestamp, id?}`. */
export function serverEnvelopeSchema<K extends ServerMessageType>(type: K) {
  return {
    type: 'object',
    required: ['type', 'data', 'timestamp'],
    additionalProperties: false,
    properties: {
      type: { const: type },
      data: SERVER_DATA_SCHEMAS[type],
      timestamp: { ...DATE_TIME, description: 'Server send time' },
      id: { ...MESSAGE_ID, description: 'Present only on the reply to a client message that carried an `id`' },
    },
  } as const;
}

// ---- compile-time checks: schema <-> TypeScript type -----------------------

/** A client envelope as the wire accepts it: like ClientMessageOf<K>, with `data` optional where the DTO allows it. */
type ClientWireMessage<K extends ClientMessageType> = K extends DataOptional
  ? Omit<ClientMessageOf<K>, 'data'> & { data?: ClientMessageMap[K] }
  : ClientMessageOf<K>;

export type _ClientDataSchemasFit = AssertTrue<
  StrictSame<{ [K in ClientMessageType]: FromSchema<(typeof CLIENT_DATA_SCHEMAS)[K]> }, { [K in ClientMessageType]: ClientMessageMap[K] }>
>;
export type _ServerDataSchemasFit = AssertTrue<
  StrictSame<{ [K in ServerMessageType]: FromSchema<(typeof SERVER_DATA_SCHEMAS)[K]> }, { [K in ServerMessageType]: ServerMessageMap[K] }>
>;
export type _ClientEnvelopeSchemasFit = AssertTrue<
  StrictSame<{ [K in ClientMessageType]: FromSchema<ReturnType<typeof clientEnvelopeSchema<K>>> }, { [K in ClientMessageType]: ClientWireMessage<K> }>
>;
export type _ServerEnvelopeSchemasFit = AssertTrue<
  StrictSame<{ [K in ServerMessageType]: FromSchema<ReturnType<typeof serverEnvelopeSchema<K>>> }, { [K in ServerMessageType]: ServerMessage<K> }>
>;
/** MessageId is what MESSAGE_ID accepts. */
export type _MessageIdFits = AssertTrue<StrictSame<FromSchema<typeof MESSAGE_ID>, MessageId>>;
