import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SessionService } from '../../auth/session.service';
import { AppConfig } from '../../config/app-config';
import { CloseCode } from '../protocol/error-codes';
import { countLimitRefusal } from '../realtime.metrics';
import { CloseReason } from './connection';
import { ConnectionRegistry } from './connection-registry';
import { InboundQueue } from './inbound-queue';
import { RealtimeHub } from './realtime-hub.service';

/**
 * Every HEARTBEAT_INTERVAL seconds: pings raw WebSocket peers (Socket.IO runs
 * Engine.IO's own ping with the same settings), terminates peers silent for
 * longer than WEBSOCKET_TIMEOUT, and re-checks that every bound session is
 * still active (an expired session loses portfolio access).
 * Several times per WS_IDLE_TIMEOUT: closes new connections of both transports
 * that sent no valid message and hold no subscription within it (1008 IDLE_TIMEOUT).
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeHeartbeat');
  private timer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private checkingSessions = false;

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
    this.timer = setInterval(() => this.beat(), this.config.HEARTBEAT_INTERVAL * 1000);
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

  beat(now = Date.now()): void {
    const timeoutMs = this.config.WEBSOCKET_TIMEOUT * 1000;
    let terminated = 0;
    for (const conn of [...this.registry.all()]) {
      if (conn.kind !== 'websocket') continue;
      if (now - conn.lastSeen > timeoutMs) {
        this.hub.terminate(conn);
        terminated++;
      } else {
        conn.ping();
      }
    }
    if (terminated > 0) this.logger.log(`Terminated ${terminated} silent connection(s) (no answer within ${this.config.WEBSOCKET_TIMEOUT}s)`);
    void this.recheckSessions();
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
