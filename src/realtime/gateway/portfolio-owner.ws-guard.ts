import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { SessionService } from '../../auth/session.service';
import { PortfolioAccessService } from '../../portfolios/portfolio-access.service';
import type { Connection } from '../hub/connection';
import type { InboundRequest } from '../hub/inbound-request';
import { ProtocolError } from '../hub/protocol-error';
import { RealtimeHub } from '../hub/realtime-hub.service';
import { RequestLane } from '../hub/request-lane';
import { ErrorCode } from '../protocol/error-codes';
import { validateRequest } from './client-message.pipe';

/**
 * `subscribe_portfolio` only for the portfolio's owner, on a session that is still active:
 * the socket side of the REST PortfolioOwnerGuard, asking the same PortfolioAccessService
 * (`findOwned`, the one ownership rule). Denied: AUTH_REQUIRED (anonymous connection, or the
 * session ended: its sockets then lose their portfolios at once) or NOT_FOUND (not yours and
 * nonexistent are the same answer), thrown to RealtimeExceptionFilter.
 *
 * Two things a REST guard does not have to do:
 *  - Nest runs guards before pipes, and an invalid message must get VALIDATION_FAILED, not
 *    AUTH_REQUIRED (and never wait on the database), so the guard validates first, with the
 *    pipe's own validation (run once per request, see validateRequest);
 *  - its database wait is part of the request: it takes the request's place in the
 *    connection's database lane first (in order, behind earlier subscribes) and races the
 *    request's deadline (SERVICE_UNAVAILABLE).
 */
@Injectable()
export class PortfolioOwnerWsGuard implements CanActivate {
  constructor(
    private readonly access: PortfolioAccessService,
    private readonly sessions: SessionService,
    private readonly lane: RequestLane,
    private readonly hub: RealtimeHub,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const ws = context.switchToWs();
    const conn = ws.getClient<Connection>();
    const req = ws.getData<InboundRequest>();
    const msg = validateRequest(req);
    if (msg.type !== 'subscribe_portfolio') throw new Error(`PortfolioOwnerWsGuard guards subscribe_portfolio, not ${msg.type}`);
    await this.lane.enter(conn, req);
    const { userId, sessionId } = conn;
    if (userId === null || sessionId === null) {
      throw new ProtocolError(ErrorCode.AUTH_REQUIRED, 'Log in to subscribe to portfolios (session cookie on the handshake)');
    }
    const id = msg.data.portfolio_id;
    // Held already: ownership was checked when it was added, and a session that ends takes it away.
    if (conn.portfolios?.has(id)) return true;
    const [active, owned] = await this.lane.bounded(req, Promise.all([this.sessions.isActive(sessionId), this.access.findOwned(userId, id)]));
    if (!active) {
      this.hub.onSessionEnded({ session_id: sessionId });
      throw new ProtocolError(ErrorCode.AUTH_REQUIRED, 'Your session has ended: log in again');
    }
    // Not yours and nonexistent are the same answer.
    if (!owned) throw new ProtocolError(ErrorCode.NOT_FOUND, `Portfolio ${id} not found`);
    if (!conn.open || conn.userId !== userId) throw new ProtocolError(ErrorCode.AUTH_REQUIRED, 'Your session has ended: log in again');
    return true;
  }
}
