import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SessionService } from '../../auth/session.service';
import { AppConfig } from '../../config/app-config';
import { ConnectionRegistry } from './connection-registry';
import { RealtimeHub } from './realtime-hub.service';

/**
 * Every HEARTBEAT_INTERVAL seconds: pings raw WebSocket peers (Socket.IO runs
 * Engine.IO's own ping with the same settings), terminates peers silent for
 * longer than WEBSOCKET_TIMEOUT, and re-checks that every bound session is
 * still active (an expired session loses portfolio access).
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeHeartbeat');
  private timer: NodeJS.Timeout | null = null;
  private checkingSessions = false;

  constructor(
    private readonly config: AppConfig,
    private readonly registry: ConnectionRegistry,
    private readonly hub: RealtimeHub,
    private readonly sessions: SessionService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.beat(), this.config.HEARTBEAT_INTERVAL * 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
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
