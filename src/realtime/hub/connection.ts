import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { CloseCode } from '../protocol/error-codes';
import type { MessageId } from '../protocol/client-messages';
import type { ServerMessage, SubscriptionsData } from '../protocol/server-messages';
import type { OutboundFrame } from './outbound-frame';

export type TransportKind = 'websocket' | 'socketio';

/** A Socket.IO acknowledgement callback. */
export type AckFn = (payload: unknown) => void;

/** What the hub needs to know about who is on the other end. */
export interface ConnectionIdentity {
  userId: number;
  sessionId: string;
}

/** One queued inbound message, before rate limiting and parsing. */
export type InboundItem =
  | { kind: 'text'; text: string }
  | { kind: 'binary' }
  | { kind: 'event'; event: string; args: unknown[]; ack?: AckFn };

/**
 * Why the server closed a connection: the prefix of the raw WebSocket close reason
 * (`IDLE_TIMEOUT: ...`, close code 1008) and, on Socket.IO, the `data.code` of the
 * `error` event sent just before the disconnect.
 */
export const CloseReason = {
  /** No valid message (and no subscription) within WS_IDLE_TIMEOUT seconds of connecting. */
  IDLE_TIMEOUT: 'IDLE_TIMEOUT',
  /** WS_MAX_PROTOCOL_ERRORS invalid messages (INVALID_JSON, VALIDATION_FAILED, UNKNOWN_TYPE) within a minute. */
  PROTOCOL_ERRORS: 'PROTOCOL_ERRORS',
} as const;
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

/**
 * A database-bound request (a subscription) taken off the inbox: queued or running.
 * Messages after it are answered meanwhile; an unsubscribe of one of its topics,
 * received after it, cancels that topic (it is not added when the request completes).
 */
export interface PendingRequest {
  readonly req: RequestRef;
  /** Topic keys (`a:SYMBOL`, `p:ID`) unsubscribed since it was received. */
  cancelled: Set<string> | null;
  /** Answered (done, failed or past its deadline): nothing more is applied or sent for it. */
  settled: boolean;
}

/** Correlation of a reply with its request. */
export interface RequestRef {
  type: string | null;
  id: MessageId | null;
  ack?: AckFn;
}

/**
 * One client connection, whatever the transport. The hub only uses this class;
 * each transport subclasses it with the few methods that touch its socket.
 * Kept small: idle connections are counted in the thousands.
 */
export abstract class Connection {
  abstract readonly kind: TransportKind;
  readonly id: string = randomUUID();
  userId: number | null = null;
  sessionId: string | null = null;
  /** Holds a slot in the per-user connection count. */
  countedUser: number | null = null;
  open = true;
  /** Last time the peer showed life (message or pong), ms epoch. */
  lastSeen = Date.now();
  /** When the connection was opened, ms epoch (WS_IDLE_TIMEOUT counts from here). */
  readonly openedAt = this.lastSeen;
  /** The peer sent a valid message (set by MessageRouter): it is not idle. */
  engaged = false;
  /** Protocol errors counted in the one-minute window that started at `protocolErrorsSince` (WS_MAX_PROTOCOL_ERRORS). */
  protocolErrors = 0;
  protocolErrorsSince = 0;

  /** Subscriptions (allocated on first use). */
  assets: Set<string> | null = null;
  portfolios: Set<number> | null = null;

  /** Conflation: newest pending frame per topic while the socket is above the high-water mark. */
  conflated: Map<string, OutboundFrame> | null = null;
  conflatedSince = 0;

  /** Opt-in batching: interval and the frames waiting for the next tick. */
  batchMs = 0;
  batch: OutboundFrame[] | null = null;

  /** Corked for the current burst of sends (see OutboundFlow.beginBurst). */
  corked = false;
  /** Bytes sent into the corked socket during this burst: held back by the cork, not by a slow reader. */
  burstBytes = 0;
  /** Batch flush phase (0..phases-1) within its batch group. */
  batchPhase = 0;

  /**
   * Inbound queue: messages are taken one at a time, in order. Database-bound requests
   * (subscribe_*) then wait in `dbQueue`, so a pending one holds up nothing else (see MessageRouter).
   */
  inbox: InboundItem[] | null = null;
  processing = false;
  /** Database-bound requests, handled one at a time, in order (allocated on first use). */
  dbQueue: PendingRequest[] | null = null;
  dbBusy = false;

  /** Bytes handed to the transport and not yet written to the kernel. */
  abstract bufferedBytes(): number;
  /** Sends a shared, pre-serialised frame. */
  abstract sendFrame(frame: OutboundFrame): void;
  /** Sends a message built for this connection only (replies, errors). */
  abstract sendMessage(message: ServerMessage): void;
  /** Protocol-level keepalive ping; false when the transport runs its own heartbeat. */
  abstract ping(): boolean;
  /** Graceful close with a code (WebSocket close code; Socket.IO just disconnects). */
  abstract close(code: CloseCode, reason: string): void;
  /** Drops the connection at once (dead peer). */
  abstract terminate(): void;

  /** The TCP socket frames are written to, if the transport writes straight to one (for corking). */
  protected tcpSocket(): Duplex | undefined {
    return undefined;
  }

  /**
   * Holds back writes to the TCP socket until `uncork`, so several frames sent
   * in one burst leave in one syscall. False when there is nothing to cork.
   */
  cork(): boolean {
    const tcp = this.tcpSocket();
    if (!tcp) return false;
    tcp.cork();
    this.corkedTcp = tcp;
    return true;
  }

  /** Uncorks the very socket corked, whatever happened to the connection since. */
  uncork(): void {
    const tcp = this.corkedTcp;
    this.corkedTcp = null;
    tcp?.uncork();
  }

  private corkedTcp: Duplex | null = null;

  get authenticated(): boolean {
    return this.userId !== null;
  }

  subscriptionCount(): number {
    return (this.assets?.size ?? 0) + (this.portfolios?.size ?? 0);
  }

  subscriptions(): SubscriptionsData {
    return {
      assets: this.assets ? [...this.assets].sort() : [],
      portfolios: this.portfolios ? [...this.portfolios].sort((a, b) => a - b) : [],
    };
  }
}
