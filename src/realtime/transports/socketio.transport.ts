import { Injectable, Logger } from '@nestjs/common';
import type { Server as HttpServer } from 'node:http';
import { ExtendedError, Server, Socket } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { isDbUnavailableError, OutageLog } from '../../database/db-errors';
import type { AckFn, ConnectionIdentity } from '../hub/connection';
import { ClusterPresence, ConnectionSlot } from '../cluster/cluster-presence';
import { InboundQueue } from '../hub/inbound-queue';
import { RealtimeHub } from '../hub/realtime-hub.service';
import { RefusalCode } from '../protocol/error-codes';
import { countHandshake } from '../realtime.metrics';
import { HandshakeService } from './handshake.service';
import type { RealtimeServer } from './realtime-server';
import { SocketIoConnection } from './socketio.connection';
import { SOCKET_IO_NAMESPACE, SOCKET_IO_PATH } from './wire-frames';

const CONN = Symbol('realtimeConnection');
type Tagged = { [CONN]?: SocketIoConnection };

interface HandshakeData {
  identity: ConnectionIdentity | null;
  slot: ConnectionSlot | null;
}

/**
 * The Socket.IO endpoint: namespace `/realtime` at path `/socket.io` on the app's HTTP
 * server (RealtimeWsAdapter.create calls `listen`), with the settings-driven server options
 * (payload limit, Engine.IO heartbeat from HEARTBEAT_INTERVAL / WEBSOCKET_TIMEOUT, the Origin
 * check in `allowRequest`, CORS for long-polling); a handshake middleware (Origin, session,
 * per-user limit -> `connect_error` with `data.code`); then the hub registers each socket, the
 * gateway is bound to it, and every event goes to the InboundQueue like a raw frame (`onAny`,
 * so unknown events get UNKNOWN_TYPE too).
 */
@Injectable()
export class SocketIoTransport {
  private readonly logger = new Logger('SocketIoTransport');
  private readonly storeOutage = new OutageLog(this.logger);
  private gateway?: RealtimeServer;

  constructor(
    private readonly config: AppConfig,
    private readonly hub: RealtimeHub,
    private readonly inbound: InboundQueue,
    private readonly handshake: HandshakeService,
    private readonly presence: ClusterPresence,
  ) {}

  /** Creates the Socket.IO server on `httpServer`; accepted sockets are reported to `gateway`. */
  listen(httpServer: HttpServer, gateway: RealtimeServer): Server {
    this.gateway = gateway;
    const io = new Server(httpServer, {
      path: SOCKET_IO_PATH,
      serveClient: false,
      perMessageDeflate: false,
      httpCompression: false,
      // Leave upgrades for other paths (/ws/realtime/) alone.
      destroyUpgrade: false,
      maxHttpBufferSize: this.config.WS_MAX_PAYLOAD,
      pingInterval: this.config.HEARTBEAT_INTERVAL * 1000,
      pingTimeout: this.config.WEBSOCKET_TIMEOUT * 1000,
      allowRequest: this.allowRequest,
      cors: { origin: this.corsOrigin, credentials: true },
    });
    const nsp = io.of(SOCKET_IO_NAMESPACE);
    nsp.use((socket, next) => void this.authenticate(socket, next));
    nsp.on('connection', (socket: Socket) => this.accept(socket));
    // Engine.IO flushed its buffer to the transport: those bytes are now counted by the WebSocket itself.
    io.engine.on('drain', (engineSocket: Tagged) => {
      const conn = engineSocket[CONN];
      if (conn) conn.engineBytes = 0;
    });
    return io;
  }

  /** Engine.IO allowRequest: refuse foreign origins on the first HTTP request (403). */
  allowRequest = (req: Parameters<HandshakeService['checkOrigin']>[0], fn: (err: string | null | undefined, success: boolean) => void): void => {
    const ok = this.handshake.checkOrigin(req) !== 'forbidden';
    if (!ok) countHandshake('socketio', 'origin_refused');
    fn(ok ? null : `${RefusalCode.FORBIDDEN_ORIGIN}: Origin not allowed`, ok);
  };

  /** CORS for the long-polling transport: the same origins as the WebSocket check. */
  corsOrigin = (origin: string | undefined, fn: (err: Error | null, allow?: boolean) => void): void => {
    fn(null, origin === undefined || this.handshake.isListed(origin));
  };

  private async authenticate(socket: Socket, next: (err?: ExtendedError) => void): Promise<void> {
    try {
      const verdict = this.handshake.checkOrigin(socket.request);
      if (verdict === 'forbidden') {
        countHandshake('socketio', 'origin_refused');
        next(refusal(RefusalCode.FORBIDDEN_ORIGIN, 'Origin not allowed'));
        return;
      }
      const identity = await this.handshake.identify(socket.request, verdict);
      let slot: ConnectionSlot | null = null;
      if (identity) {
        // A logged-in user's slot in MAX_CONNECTIONS_PER_USER (across instances with REDIS_URL).
        const admission = await this.presence.acquire(identity.userId);
        if (!admission.ok) {
          countHandshake('socketio', 'limit');
          next(refusal(RefusalCode.CONNECTION_LIMIT, `At most ${admission.limit} connections per user`));
          return;
        }
        slot = admission.slot;
        // Given back however the connection ends, even before it is accepted (idempotent).
        if (socket.conn.readyState !== 'open') {
          this.presence.release(slot);
          next(new Error('The connection closed during the handshake'));
          return;
        }
        socket.conn.once('close', () => this.presence.release(admission.slot));
      }
      (socket.data as HandshakeData) = { identity, slot };
      next();
    } catch (err) {
      // The session store failed or did not answer within WS_AUTH_TIMEOUT_MS: refused, never a silent downgrade to anonymous.
      if (isDbUnavailableError(err)) this.storeOutage.failed('Socket.IO handshake session lookup', err);
      else this.logger.warn(`Socket.IO handshake failed: ${(err as Error).message}`);
      countHandshake('socketio', 'unavailable');
      next(refusal(RefusalCode.SERVICE_UNAVAILABLE, 'The session store is not answering: try again shortly'));
    }
  }

  private accept(socket: Socket): void {
    const data = socket.data as HandshakeData | undefined;
    const identity = data?.identity ?? null;
    const conn = new SocketIoConnection(socket);
    conn.slot = data?.slot ?? null;
    const opened = this.hub.open(conn, identity);
    if (!opened.ok) {
      if (conn.slot) this.presence.release(conn.slot);
      conn.slot = null;
      countHandshake('socketio', 'limit');
      // Lost a race with a parallel handshake of the same user.
      socket.emit('error', {
        type: 'error',
        data: { code: RefusalCode.CONNECTION_LIMIT, message: opened.reason, request_type: null, id: null },
        timestamp: new Date().toISOString(),
      });
      socket.disconnect(true);
      return;
    }
    countHandshake('socketio', 'accepted');
    (socket as unknown as Tagged)[CONN] = conn;
    (socket.conn as unknown as Tagged)[CONN] = conn;
    socket.once('disconnect', () => this.hub.closed(conn));
    this.gateway?.connected(conn);
    socket.onAny((event: string, ...args: unknown[]) => {
      const last = args[args.length - 1];
      const ack = typeof last === 'function' ? (args.pop() as AckFn) : undefined;
      this.inbound.receive(conn, { kind: 'event', event: String(event), args, ack });
    });
  }
}

function refusal(code: string, message: string): ExtendedError {
  const err = new Error(`${code}: ${message}`) as ExtendedError;
  err.data = { code, message };
  return err;
}
