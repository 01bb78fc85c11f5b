/**
 * Stable error codes carried by `error` messages (and by failed Socket.IO
 * acknowledgements). Clients may switch on them; they never change meaning.
 * Plain constants (no runtime dependencies) so browser bundles can import them.
 */
export const ErrorCode = {
  /** The frame is not a JSON text (malformed JSON, or a binary frame on the JSON endpoint). */
  INVALID_JSON: 'INVALID_JSON',
  /** The message is JSON but its shape or a field is wrong (details lists each problem). */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** `type` is not a client message type this server knows. */
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  /** The symbol is well-formed but not in the asset catalog. */
  UNKNOWN_SYMBOL: 'UNKNOWN_SYMBOL',
  /** The request needs a logged-in session (portfolio subscriptions). */
  AUTH_REQUIRED: 'AUTH_REQUIRED',
  /** No such portfolio for this user (someone else's portfolio gets the same answer). */
  NOT_FOUND: 'NOT_FOUND',
  /** The connection already holds MAX_SUBSCRIPTIONS_PER_CONNECTION subscriptions. */
  SUBSCRIPTION_LIMIT: 'SUBSCRIPTION_LIMIT',
  /** Too many messages: slow down (persistent abuse closes the connection with 1008). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The server failed; the connection stays usable. */
  INTERNAL: 'INTERNAL',
  /**
   * The database did not answer in time or cannot be reached (an outage, not a bug): nothing of
   * the request was applied; the connection stays usable; try again shortly.
   */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/** WebSocket close codes the raw endpoint uses (RFC 6455 §7.4.1). */
export const CloseCode = {
  /** Normal closure (client or server asked). */
  NORMAL: 1000,
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** Policy violation: per-user connection limit, persistent rate-limit abuse, session ended. */
  POLICY_VIOLATION: 1008,
  /** A frame larger than WS_MAX_PAYLOAD. */
  MESSAGE_TOO_BIG: 1009,
  /** Unexpected server error. */
  INTERNAL_ERROR: 1011,
  /** Slow consumer: stuck above the outbound buffer limits ("try again later"). */
  TRY_AGAIN_LATER: 1013,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Why a connection attempt is refused before any message flows. Raw WebSocket:
 * HTTP status (403 origin) or close 1008 with `<REASON>: text` as close reason;
 * Socket.IO: `connect_error` whose `data.code` is one of these.
 */
export const RefusalCode = {
  FORBIDDEN_ORIGIN: 'FORBIDDEN_ORIGIN',
  CONNECTION_LIMIT: 'CONNECTION_LIMIT',
  /** The session lookup failed or took longer than WS_AUTH_TIMEOUT_MS (database unavailable): raw WebSocket HTTP 503. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
} as const;
export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

/**
 * Socket.IO has no close codes: before the server disconnects a socket for one of these
 * reasons it sends an `error` event whose `data.code` is the reason (on the raw endpoint, the
 * prefix of the 1008 close reason): an idle connection, too many invalid messages, or a
 * handshake that lost the race for its user's last connection slot.
 */
export const DisconnectCode = {
  IDLE_TIMEOUT: 'IDLE_TIMEOUT',
  PROTOCOL_ERRORS: 'PROTOCOL_ERRORS',
  CONNECTION_LIMIT: 'CONNECTION_LIMIT',
} as const;
export type DisconnectCode = (typeof DisconnectCode)[keyof typeof DisconnectCode];
export const DISCONNECT_CODES: readonly DisconnectCode[] = Object.values(DisconnectCode);
