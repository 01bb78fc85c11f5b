import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SessionService } from '../../auth/session.service';
import { AppConfig } from '../../config/app-config';
import { CloseCode } from '../protocol/error-codes';
import { countLimitRefusal } from '../realtime.metrics';
import { CloseReason, type Connection } from './connection';
import { ConnectionRegistry } from './connection-registry';
import { InboundQueue } from './inbound-queue';
import { RealtimeHub } from './realtime-hub.service';

/** A round of pings is spread over the interval in slices this long (ms). */
export const HEARTBEAT_SLICE_MS = 200;

/**
 * Every HEARTBEAT_INTERVAL seconds: pings raw WebSocket peers (Socket.IO runs
 * Engine.IO's own ping with the same settings), terminates peers silent for
 * longer than WEBSOCKET_TIMEOUT, and re-checks that every bound session is
 * still active (an expired session loses portfolio access). The round is spread
 * over the interval, a slice every HEARTBEAT_SLICE_MS: pinging every socket in
 * one go held the event loop for about 4 µs per socket (20 ms at 5,000, the
 * bench's latency tail; 200 ms at 50,000).
 * Several times per WS_IDLE_TIMEOUT: closes new connections of both transports
 * that sent no valid message and hold no subscription within it (1008 IDLE_TIMEOUT).
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeHeartbeat');
  private timer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private checkingSessions = false;
  /** The current round: the raw WebSocket connections at its start, the next to ping, how many per slice. */
  private round: Connection[] = [];
  private next = 0;
  private perSlice = 0;
  private roundStartedAt = -Infinity;

  constructor(
    private readonly config: AppConfig,
    private readonly registry: ConnectionRegistry,
    private readonly hub: RealtimeHub,
    private readonly inbound: InboundQueue,
    private readonly sessions: SessionService,
  ) {
    this.registry.trackFresh = config.WS_IDLE_TIMEOUT > 0;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.beat(), Math.min(HEARTBEAT_SLICE_MS, this.config.HEARTBEAT_INTERVAL * 1000));
    this.timer.unref();
    const idleMs = this.config.WS_IDLE_TIMEOUT * 1000;
    if (idleMs > 0) {
      // A connection is closed between WS_IDLE_TIMEOUT and WS_IDLE_TIMEOUT + 1 s (a quarter of it when shorter).
      this.idleTimer = setInterval(() => this.closeIdle(), Math.min(1000, idleMs / 4));
      this.idleTimer.unref();
    }
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.timer = null;
    this.idleTimer = null;
  }

  /**
   * Closes the connections opened more than WS_IDLE_TIMEOUT ago that never sent a valid
   * message nor subscribed (InboundQueue knows). Each connection is looked at once, when
   * its time is up: one that spoke by then is never idle-checked again.
   */
  closeIdle(now = Date.now()): void {
    const seconds = this.config.WS_IDLE_TIMEOUT;
    let closed = 0;
    for (const conn of this.registry.takeOpenedBefore(now - seconds * 1000)) {
      if (!conn.open || this.inbound.engaged(conn) || conn.subscriptionCount() > 0) continue;
      if (this.inbound.busy(conn)) {
        // A message still being handled may prove it valid: looked at again later.
        this.registry.recheckLater(conn);
        continue;
      }
      // Released like a peer that left, then closed: one summary line below instead of one per connection.
      this.hub.closed(conn);
      conn.close(CloseCode.POLICY_VIOLATION, `${CloseReason.IDLE_TIMEOUT}: no valid message within ${seconds} s`);
      closed++;
    }
    countLimitRefusal('idle_timeout', closed);
    if (closed > 0) this.logger.log(`Closed ${closed} idle connection(s) (no valid message within ${seconds}s)`);
  }

  /**
   * One slice of the heartbeat: the next connections of the round are pinged (or terminated when
   * silent for longer than WEBSOCKET_TIMEOUT). A round starts every HEARTBEAT_INTERVAL with the
   * raw WebSocket connections open then, split evenly over the interval's slices, and re-checks
   * the bound sessions once.
   */
  beat(now = Date.now()): void {
    const intervalMs = this.config.HEARTBEAT_INTERVAL * 1000;
    if (this.next >= this.round.length) {
      if (this.round.length > 0) this.round = []; // a finished round holds no connection until the next
      if (now - this.roundStartedAt < intervalMs) return;
      this.roundStartedAt = now;
      for (const conn of this.registry.all()) if (conn.kind === 'websocket') this.round.push(conn);
      this.next = 0;
      this.perSlice = Math.ceil(this.round.length / Math.max(1, Math.floor(intervalMs / HEARTBEAT_SLICE_MS)));
      void this.recheckSessions();
    }
    const timeoutMs = this.config.WEBSOCKET_TIMEOUT * 1000;
    const end = Math.min(this.round.length, this.next + this.perSlice);
    let terminated = 0;
    for (; this.next < end; this.next++) {
      const conn = this.round[this.next];
      if (!conn.open) continue;
      if (now - conn.lastSeen > timeoutMs) {
        this.hub.terminate(conn);
        terminated++;
      } else {
        conn.ping();
      }
    }
    if (terminated > 0) this.logger.log(`Terminated ${terminated} silent connection(s) (no answer within ${this.config.WEBSOCKET_TIMEOUT}s)`);
  }

  private async recheckSessions(): Promise<void> {
    if (this.checkingSessions) return;
    this.checkingSessions = true;
    try {
      for (const sessionId of this.registry.sessionIds()) {
        let active = true;
        try {
          active = await this.sessions.isActive(sessionId);
        } catch (err) {
          this.logger.warn(`Session re-check failed: ${(err as Error).message}`);
          continue;
        }
        if (!active) this.hub.onSessionEnded({ session_id: sessionId });
      }
    } finally {
      this.checkingSessions = false;
    }
  }
}
