import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { CloseCode, ErrorCode } from '../protocol/error-codes';
import { countLimitRefusal } from '../realtime.metrics';
import { AckFn, CloseReason, Connection } from './connection';
import { PROTOCOL_ERROR_CODES, ProtocolError } from './protocol-error';
import { RealtimeHub } from './realtime-hub.service';
import { RequestLane } from './request-lane';

/** Queued inbound bytes per connection above which it is closed (1008). */
const MAX_INBOX_BYTES = 1 << 20;
/** Queued inbound messages per connection (waiting, or pending in its database lane) above which it is closed (1008). */
const MAX_INBOX_MESSAGES = 2000;
/** The window WS_MAX_PROTOCOL_ERRORS applies to. */
const PROTOCOL_ERROR_WINDOW_MS = 60_000;

/** One queued inbound message, before rate limiting and parsing. */
export type InboundItem = { kind: 'text'; text: string } | { kind: 'binary' } | { kind: 'event'; event: string; args: unknown[]; ack?: AckFn };

/**
 * What takes a message off the queue and has it handled: RealtimeWsAdapter (parse, then the
 * gateway's handler through Nest's pipeline, then the reply). The queue is transport-free and
 * Nest-free; it only knows that a connection's handlers are an opaque value given at bind time.
 */
export interface InboundDispatcher<H = unknown> {
  /** Handles one admitted message; resolves once the next one may be taken (see RealtimeWsAdapter.dispatch). */
  dispatch(conn: Connection, item: InboundItem, handlers: H): Promise<void>;
  /** Answers a message that is not handled (RATE_LIMITED) with its typed error. */
  refuse(conn: Connection, item: InboundItem, error: ProtocolError): void;
}

/** The inbound side of one connection. Owned by InboundQueue: nothing else writes it. */
export class InboundState {
  /** Messages waiting, in arrival order (allocated while there are some). */
  items: InboundItem[] | null = null;
  /** Text bytes in `items`. */
  bytes = 0;
  /** A message is being taken off the queue. */
  processing = false;
  /** The peer sent a valid message: it is not idle (WS_IDLE_TIMEOUT). */
  engaged = false;
  /** Protocol errors counted in the one-minute window that started at `protocolErrorsSince` (WS_MAX_PROTOCOL_ERRORS). */
  protocolErrors = 0;
  protocolErrorsSince = 0;

  constructor(
    /** The gateway's message handlers for this connection (what the dispatcher calls). */
    readonly handlers: unknown,
  ) {}
}

/**
 * Inbound path of every connection, both transports, before any message is parsed:
 * a queue taken one message at a time, in arrival order (bounded: MAX_INBOX_MESSAGES,
 * MAX_INBOX_BYTES, then 1008), the inbound rate limit (RATE_LIMITED; persistent abuse, 1008),
 * then the dispatcher. It also keeps what the rest of the hub asks about a connection's
 * inbound side: whether it sent a valid message (WS_IDLE_TIMEOUT), its protocol errors
 * (WS_MAX_PROTOCOL_ERRORS, then 1008), and whether a message is still being handled.
 */
@Injectable()
export class InboundQueue {
  private dispatcher: InboundDispatcher | null = null;
  /** WS_MAX_PROTOCOL_ERRORS: invalid messages per minute before the connection is closed. */
  private readonly maxProtocolErrors: number;

  constructor(
    private readonly hub: RealtimeHub,
    private readonly lane: RequestLane,
    config: AppConfig,
  ) {
    this.maxProtocolErrors = config.WS_MAX_PROTOCOL_ERRORS;
    hub.onRelease((conn) => {
      if (conn.inbound) this.clear(conn.inbound);
    });
  }

  /** Set once, by the WebSocket adapter of the app. */
  useDispatcher(dispatcher: InboundDispatcher): void {
    this.dispatcher = dispatcher;
  }

  /** The gateway is bound to this connection: from now on its messages are handled with `handlers`. */
  bind(conn: Connection, handlers: unknown): void {
    conn.inbound = new InboundState(handlers);
  }

  /** Called by a transport for every inbound frame / event. */
  receive(conn: Connection, item: InboundItem): void {
    if (!conn.open) return;
    conn.alive();
    const s = conn.inbound;
    if (!s) return; // not bound to the gateway: nothing could handle it
    const queued = (s.items?.length ?? 0) + this.lane.size(conn);
    const bytes = item.kind === 'text' ? item.text.length : 0;
    if (queued >= MAX_INBOX_MESSAGES || s.bytes + bytes > MAX_INBOX_BYTES) {
      countLimitRefusal('inbound_queue');
      this.hub.drop(conn, CloseCode.POLICY_VIOLATION, 'Too many messages queued: slow down');
      return;
    }
    (s.items ??= []).push(item);
    s.bytes += bytes;
    if (!s.processing) void this.run(conn, s);
  }

  /** The connection sent a valid message, whatever comes of it: it is in use (not closed for WS_IDLE_TIMEOUT). */
  engage(conn: Connection): void {
    if (conn.inbound) conn.inbound.engaged = true;
  }

  engaged(conn: Connection): boolean {
    return conn.inbound?.engaged ?? false;
  }

  /** A message of this connection is queued, being handled, or pending on the database. */
  busy(conn: Connection): boolean {
    const s = conn.inbound;
    return (s !== null && (s.processing || (s.items?.length ?? 0) > 0)) || this.lane.size(conn) > 0;
  }

  /**
   * A request was just answered with an error. A protocol error (INVALID_JSON, VALIDATION_FAILED,
   * UNKNOWN_TYPE: the message itself is malformed) counts: after WS_MAX_PROTOCOL_ERRORS of them
   * within a minute the connection is closed with 1008 PROTOCOL_ERRORS.
   */
  answeredWithError(conn: Connection, code: ErrorCode, now = Date.now()): void {
    const s = conn.inbound;
    if (!s || !PROTOCOL_ERROR_CODES.has(code)) return;
    if (now - s.protocolErrorsSince >= PROTOCOL_ERROR_WINDOW_MS) {
      s.protocolErrorsSince = now;
      s.protocolErrors = 0;
    }
    if (++s.protocolErrors >= this.maxProtocolErrors && conn.open) {
      countLimitRefusal('protocol_errors');
      this.hub.drop(conn, CloseCode.POLICY_VIOLATION, `${CloseReason.PROTOCOL_ERRORS}: ${this.maxProtocolErrors} invalid messages within a minute`);
    }
  }

  private async run(conn: Connection, s: InboundState): Promise<void> {
    s.processing = true;
    try {
      while (conn.open && s.items !== null && s.items.length > 0) {
        const item = s.items.shift()!;
        if (item.kind === 'text') s.bytes -= item.text.length;
        await this.process(conn, s, item);
      }
    } finally {
      s.processing = false;
      if (s.items?.length === 0) this.clear(s);
    }
  }

  private async process(conn: Connection, s: InboundState, item: InboundItem): Promise<void> {
    const admission = await this.hub.rateLimiter.admit(conn.id);
    if (!conn.open || !this.dispatcher) return;
    if (!admission.ok) {
      if (admission.abusive) {
        countLimitRefusal('rate_limit_close');
        this.hub.drop(conn, CloseCode.POLICY_VIOLATION, 'Rate limit exceeded persistently');
      } else {
        const retryAfter = Math.ceil(admission.retryAfterMs / 100) / 10;
        this.dispatcher.refuse(
          conn,
          item,
          new ProtocolError(ErrorCode.RATE_LIMITED, 'Too many messages: slow down', null, null, undefined, { retry_after: retryAfter }),
        );
      }
      return;
    }
    await this.dispatcher.dispatch(conn, item, s.handlers);
  }

  private clear(s: InboundState): void {
    s.items = null;
    s.bytes = 0;
  }
}
