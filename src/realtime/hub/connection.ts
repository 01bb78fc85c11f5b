import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { CloseCode } from '../protocol/error-codes';
import type { MessageId } from '../protocol/client-messages';
import type { ServerMessage, SubscriptionsData } from '../protocol/server-messages';
import type { InboundState } from './inbound-queue';
import type { OutboundFrame } from './outbound-frame';
import type { LaneState } from './request-lane';
import type { ConnectionSlot } from '../cluster/cluster-presence';
import type { PortfolioPushState } from './portfolio-push';

export type TransportKind = 'websocket' | 'socketio' | 'sse';

/** A Socket.IO acknowledgement callback. */
export type AckFn = (payload: unknown) => void;

/** What the hub needs to know about who is on the other end. */
export interface ConnectionIdentity {
  userId: number;
  sessionId: string;
}

/** Where a reply or an error goes: the request's type and id (echoed) and, on Socket.IO, its acknowledgement. */
export interface ReplyTarget {
  readonly type: string | null;
  readonly id: MessageId | null;
  readonly ack?: AckFn;
}

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
 * One client connection, whatever the transport. The hub only uses this class;
 * each transport subclasses it with the few methods that touch its socket.
 * Kept small: idle connections are counted in the thousands.
 *
 * Each part of its mutable state has one owner, the only class that writes it:
 *  - identity (`userId`, `sessionId`, `countedUser`): ConnectionRegistry;
 *  - `slot` (the cluster-wide per-user count): ClusterPresence;
 *  - `open`: RealtimeHub (open, release);
 *  - liveness (`lastSeen`): this class (`alive()`, called on every sign of life);
 *  - `inbound` (queue, engagement, protocol-error count, the gateway's handlers): InboundQueue;
 *  - `lane` (database-bound requests in flight): RequestLane;
 *  - subscriptions (`assets`, `portfolios`): SubscriptionIndex;
 *  - outbound flow (conflation, batching, cork): OutboundFlow;
 *  - `portfolioPush` (portfolio push options and what was last pushed): PortfolioPushes.
 */
export abstract class Connection {
  abstract readonly kind: TransportKind;
  readonly id: string = randomUUID();

  // ---- identity: ConnectionRegistry ----
  userId: number | null = null;
  sessionId: string | null = null;
  /** Holds a slot in the per-user connection count. */
  countedUser: number | null = null;
  /** Its slot in the cluster-wide per-user count (ClusterPresence: taken at the handshake, freed with `countedUser`). */
  slot: ConnectionSlot | null = null;

  // ---- lifecycle: RealtimeHub ----
  open = true;

  // ---- liveness ----
  private seenAt = Date.now();
  /** When the connection was opened, ms epoch (WS_IDLE_TIMEOUT counts from here). */
  readonly openedAt = this.seenAt;

  // ---- inbound: InboundQueue (allocated when the gateway is bound to the connection) ----
  inbound: InboundState | null = null;
  // ---- database-bound requests: RequestLane (allocated on the first one) ----
  lane: LaneState | null = null;

  // ---- subscriptions: SubscriptionIndex (allocated on first use) ----
  assets: Set<string> | null = null;
  portfolios: Set<number> | null = null;

  // ---- outbound: OutboundFlow ----
  /** Conflation: newest pending frame per topic while the socket is above the high-water mark. */
  conflated: Map<string, OutboundFrame> | null = null;
  conflatedSince = 0;
  /** The client was told (a `status`, reason `conflated`) that it is conflated, and not yet that it caught up. */
  conflationAnnounced = false;
  /** Opt-in batching: interval, the frames held, when the last batch frame left and when the held ones are due (0: not scheduled), ms epoch. */
  batchMs = 0;
  batch: OutboundFrame[] | null = null;
  batchSentAt = 0;
  batchDueAt = 0;
  /** Corked for the current burst of sends (see OutboundFlow.beginBurst). */
  corked = false;
  /** Bytes sent into the corked socket during this burst: held back by the cork, not by a slow reader. */
  burstBytes = 0;

  // ---- portfolio push options: PortfolioPushes (null: the defaults, every change as the shared frame) ----
  portfolioPush: PortfolioPushState | null = null;

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

  /** Last time the peer showed life (a message, a ping or a pong), ms epoch. */
  get lastSeen(): number {
    return this.seenAt;
  }

  /** The peer showed life. */
  alive(now = Date.now()): void {
    this.seenAt = now;
  }

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
