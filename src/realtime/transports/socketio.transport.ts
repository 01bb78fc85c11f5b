import { Injectable, Logger } from '@nestjs/common';
import type { ExtendedError, Namespace, Socket } from 'socket.io';
import { RefusalCode } from '../protocol/error-codes';
import type { AckFn, ConnectionIdentity } from '../hub/connection';
import { ConnectionRegistry } from '../hub/connection-registry';
import { MessageRouter } from '../hub/message-router.service';
import { RealtimeHub } from '../hub/realtime-hub.service';
import { AppConfig } from '../../config/app-config';
import { isDbUnavailableError, OutageLog } from '../../database/db-errors';
import { HandshakeService } from './handshake.service';
import { SocketIoConnection } from './socketio.connection';

const CONN = Symbol('realtimeConnection');
type Tagged = { [CONN]?: SocketIoConnection };

interface HandshakeData {
  identity: ConnectionIdentity | null;
}

/**
 * Socket.IO side of the hub: handshake middleware (Origin, session, per-user
 * limit -> `connect_error` with `data.code`), then every event goes through
 * the same router as raw WebSocket frames (`onAny`, no Nest pipes).
 */
@Injectable()
export class SocketIoTransport {
  private readonly logger = new Logger('SocketIoTransport');
  private readonly storeOutage = new OutageLog(this.logger);

  constructor(
    private readonly config: AppConfig,
    private readonly hub: RealtimeHub,
    private readonly router: MessageRouter,
    private readonly registry: ConnectionRegistry,
    private readonly handshake: HandshakeService,
  ) {
  }

  /** Engine.IO allowRequest: refuse foreign origins on the first HTTP request (403). */
  allowRequest = (req: Parameters<HandshakeService['checkOrigin']>[0], fn: (err: string | null | undefined, success: boolean) => void): void => {
    const ok = this.handshake.checkOrigin(req) !== 'forbidden';
    fn(ok ? null : `${RefusalCode.FORBIDDEN_ORIGIN}: Origin not allowed`, ok);
  };

  /** CORS for the long-polling transport: the same origins as the WebSocket check. */
  corsOrigin = (origin: string | undefined, fn: (err: Error | null, allow?: boolean) => void): void => {
    fn(null, origin === undefined || this.handshake.isListed(origin));
  };

  bind(nsp: Namespace): void {
    nsp.use((socket, next) => void this.authenticate(socket, next));
    // Engine.IO flushed its buffer to the transport: those bytes are now counted by the WebSocket itself.
    nsp.server.engine.on('drain', (engineSocket: Tagged) => {
      const conn = engineSocket[CONN];
      if (conn) conn.engineBytes = 0;
    });
  }

  private async authenticate(socket: Socket, next: (err?: ExtendedError) => void): Promise<void> {
    try {
      const verdict = this.handshake.checkOrigin(socket.request);
      if (verdict === 'forbidden') {
        next(refusal(RefusalCode.FORBIDDEN_ORIGIN, 'Origin not allowed'));
        return;
      }
      const identity = await this.handshake.identify(socket.request, verdict);
      if (identity && this.registry.userConnectionCount(identity.userId) >= this.config.MAX_CONNECTIONS_PER_USER) {
        next(refusal(RefusalCode.CONNECTION_LIMIT, `At most ${this.config.MAX_CONNECTIONS_PER_USER} connections per user`));
        return;
      }
      (socket.data as HandshakeData) = { identity };
      next();
    } catch (err) {
      // The session store failed or did not answer within WS_AUTH_TIMEOUT_MS: refused, never a silent downgrade to anonymous.
      if (isDbUnavailableError(err)) this.storeOutage.failed('Socket.IO handshake session lookup', err);
      else this.logger.warn(`Socket.IO handshake failed: ${(err as Error).message}`);
      next(refusal(RefusalCode.SERVICE_UNAVAILABLE, 'The session store is not answering: try again shortly'));
    }
  }

  accept(socket: Socket): void {
    const identity = (socket.data as HandshakeData | undefined)?.identity ?? null;
    const conn = new SocketIoConnection(socket);
    const opened = this.hub.open(conn, identity);
    if (!opened.ok) {
      // Lost a race with a parallel handshake of the same user.
      socket.emit('error', {
        type: 'error',
        data: { code: RefusalCode.CONNECTION_LIMIT, message: opened.reason, request_type: null, id: null },
        timestamp: new Date().toISOString(),
      });
      socket.disconnect(true);
      return;
    }
    (socket as unknown as Tagged)[CONN] = conn;
    (socket.conn as unknown as Tagged)[CONN] = conn;
    socket.onAny((event: string, ...args: unknown[]) => {
      const last = args[args.length - 1];
      const ack = typeof last === 'function' ? (args.pop() as AckFn) : undefined;
      this.router.receive(conn, { kind: 'event', event: String(event), args, ack });
    });
  }

  closed(socket: Socket): void {
    const conn = (socket as unknown as Tagged)[CONN];
    if (conn) this.hub.closed(conn);
  }
}

function refusal(code: string, message: string): ExtendedError {
  const err = new Error(`${code}: ${message}`) as ExtendedError;
  err.data = { code, message };
  return err;
}
