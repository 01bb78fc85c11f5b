import { ArgumentsHost, Catch, Injectable, Logger, WsExceptionFilter } from '@nestjs/common';
import { isDbUnavailableError } from '../../database/db-errors';
import type { Connection } from '../hub/connection';
import { InboundQueue } from '../hub/inbound-queue';
import type { InboundRequest } from '../hub/inbound-request';
import { ProtocolError } from '../hub/protocol-error';
import { RealtimeHub } from '../hub/realtime-hub.service';
import { LaneClosedError, RequestLane } from '../hub/request-lane';
import { ErrorCode } from '../protocol/error-codes';
import { countInbound } from '../realtime.metrics';

/**
 * Every refused or failed client message gets its typed `error` reply here (a failed
 * Socket.IO acknowledgement `{ok: false, error}` when it came with one), with the request's
 * `request_type` and `id`:
 *  - a ProtocolError as it is (VALIDATION_FAILED from the pipe, AUTH_REQUIRED / NOT_FOUND from
 *    the guard, UNKNOWN_SYMBOL, SUBSCRIPTION_LIMIT from the handlers; INVALID_JSON,
 *    UNKNOWN_TYPE and RATE_LIMITED, which the adapter answers before any handler, through `answer`);
 *  - the database not answering in time or unreachable: SERVICE_UNAVAILABLE (one log line per outage);
 *  - anything else: INTERNAL (logged with its stack, never sent).
 * Protocol errors then count toward WS_MAX_PROTOCOL_ERRORS (InboundQueue).
 *
 * Catches everything thrown in the gateway's pipeline (guards, pipes, handlers, their
 * observables). Not a BaseWsExceptionFilter subclass: that one answers with Nest's
 * `exception` event, which is not this protocol; same shape otherwise (`@Catch()`, the client
 * and the data from `host.switchToWs()`).
 */
@Catch()
@Injectable()
export class RealtimeExceptionFilter implements WsExceptionFilter {
  private readonly logger = new Logger('RealtimeGateway');

  constructor(
    private readonly hub: RealtimeHub,
    private readonly inbound: InboundQueue,
    private readonly lane: RequestLane,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ws = host.switchToWs();
    this.answer(ws.getClient<Connection>(), ws.getData<InboundRequest>(), exception);
  }

  /** The typed error reply to `req` for `exception`. */
  answer(conn: Connection, req: InboundRequest, exception: unknown): void {
    if (exception instanceof LaneClosedError) return; // the connection is gone: nobody to answer
    const err = this.toProtocolError(req, exception);
    countInbound(req.type, err.code);
    this.hub.fail(conn, req, err);
    this.inbound.answeredWithError(conn, err.code);
  }

  private toProtocolError(req: InboundRequest, exception: unknown): ProtocolError {
    if (exception instanceof ProtocolError) return exception;
    const type = req.type ?? 'message';
    if (isDbUnavailableError(exception)) {
      this.lane.outage.failed(`Realtime ${type}`, exception);
      return new ProtocolError(ErrorCode.SERVICE_UNAVAILABLE, 'The database is not answering: nothing was changed, try again shortly');
    }
    this.logger.error(`Handling ${type} failed: ${(exception as Error)?.stack ?? String(exception)}`);
    return new ProtocolError(ErrorCode.INTERNAL, 'Internal error; the connection is still usable');
  }
}
