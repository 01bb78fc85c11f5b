import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { AppConfig } from '../../config/app-config';
import { isDbUnavailableError, OutageLog } from '../../database/db-errors';
import { BATCH_MS_MAX, BATCH_MS_MIN } from '../protocol/client-messages.dto';
import { CloseCode, RefusalCode } from '../protocol/error-codes';
import { ClusterPresence, ConnectionSlot } from '../cluster/cluster-presence';
import { InboundQueue } from '../hub/inbound-queue';
import { connectionLimitReason, RealtimeHub } from '../hub/realtime-hub.service';
import { countHandshake, countLimitRefusal } from '../realtime.metrics';
import { HandshakeService } from './handshake.service';
import type { RealtimeServer } from './realtime-server';
import { WebSocketConnection } from './websocket.connection';
import { RAW_WS_PATHS, SOCKET_IO_PATH } from './wire-frames';

/** How long shutdown waits for peers to answer the close before destroying their sockets. */
export const SHUTDOWN_GRACE_MS = 1000;

const CONN = Symbol('realtimeConnection');
type TaggedSocket = WebSocket & { [CONN]?: WebSocketConnection; _transport?: RawWebSocketTransport };

/**
 * The raw WebSocket endpoint `/ws/realtime/` (and without the slash), on the
 * Nest HTTP server's `upgrade` event (RealtimeWsAdapter.create calls `listen`):
 * Origin check (403), session from the cookie, then the hub registers the
 * connection and the gateway is bound to it; its frames go to the InboundQueue.
 * `ws` closes oversize frames with 1009 on its own.
 */
@Injectable()
export class RawWebSocketTransport implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('RawWebSocket');
  private readonly storeOutage = new OutageLog(this.logger);
  private readonly wss: WebSocketServer;
  private server?: Server;
  private gateway?: RealtimeServer;
  private readonly sockets = new Set<WebSocket>();
  /**
   * Every TCP socket that asked for an upgrade (either endpoint) and is still open,
   * so shutdown can finish stuck ones: Node's `server.close()` waits for them all.
   */
  private readonly upgraded = new Set<Duplex>();
  /** Set at shutdown: upgrades that arrive from then on get 503 (a reconnecting client must not slip in). */
  private closing = false;

  constructor(
    config: AppConfig,
    private readonly hub: RealtimeHub,
    private readonly inbound: InboundQueue,
    private readonly handshake: HandshakeService,
    private readonly presence: ClusterPresence,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.WS_MAX_PAYLOAD,
      perMessageDeflate: false,
      clientTracking: false,
      // Ping frames are answered by handlePing, within the inbound rate limit (ws would pong them all,
      // then drop a flooder without a close frame).
      autoPong: false,
    });
  }

  /** Serves the endpoint on `server`'s upgrades; accepted connections are reported to `gateway`. */
  listen(server: Server, gateway: RealtimeServer): void {
    this.server = server;
    this.gateway = gateway;
    // First in line, so foreign origins are refused before Engine.IO sees the request.
    server.prependListener('upgrade', this.onUpgrade);
  }

  /**
   * Sends 1001 (Socket.IO: disconnect) to every connection, gives peers a moment
   * to answer, then destroys what is left: a stuck peer must not hold up shutdown.
   */
  async beforeApplicationShutdown(): Promise<void> {
    // The listener stays, refusing: without it a raw upgrade would reach Engine.IO
    // (destroyUpgrade: false), be ignored and stay open, and server.close() would wait for ever.
    this.closing = true;
    this.hub.beforeApplicationShutdown();
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    while ((this.upgraded.size > 0 || this.sockets.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const ws of this.sockets) ws.terminate();
    for (const socket of this.upgraded) socket.destroy();
    this.upgraded.clear();
  }

  onApplicationShutdown(): void {
    this.server?.off('upgrade', this.onUpgrade);
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = pathOf(req.url);
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    if (this.closing) {
      req.url = '/refused'; // keeps Engine.IO off it too
      if (RAW_WS_PATHS.has(path)) countHandshake('websocket', 'shutting_down');
      else if (path.startsWith(`${SOCKET_IO_PATH}/`)) countHandshake('socketio', 'shutting_down');
      refuse(socket, 503, 'SHUTTING_DOWN', 'Server shutting down, try again');
      return;
    }
    if (RAW_WS_PATHS.has(path)) {
      void this.upgrade(req, socket, head);
      return;
    }
    if (path.startsWith(`${SOCKET_IO_PATH}/`)) {
      if (this.handshake.checkOrigin(req) === 'forbidden') {
        // Keep Engine.IO (next listener, destroyUpgrade: false) from touching this request.
        req.url = '/refused';
        countHandshake('socketio', 'origin_refused');
        refuse(socket, 403, RefusalCode.FORBIDDEN_ORIGIN, 'Origin not allowed');
      }
      return; // Engine.IO handles it
    }
    refuse(socket, 404, 'NOT_FOUND', 'No WebSocket endpoint here: use /ws/realtime/ or Socket.IO at /socket.io/');
  };

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', noop);
    const verdict = this.handshake.checkOrigin(req);
    if (verdict === 'forbidden') {
      countHandshake('websocket', 'origin_refused');
      refuse(socket, 403, RefusalCode.FORBIDDEN_ORIGIN, 'Origin not allowed');
      return;
    }
    const batchMs = parseBatch(req.url);
    if (batchMs === null) {
      countHandshake('websocket', 'bad_request');
      refuse(socket, 400, 'BAD_REQUEST', `batch must be 0 or ${BATCH_MS_MIN}..${BATCH_MS_MAX} ms, e.g. ?batch=50ms`);
      return;
    }
    let identity;
    try {
      identity = await this.handshake.identify(req, verdict);
    } catch (err) {
      // The session store failed or did not answer within WS_AUTH_TIMEOUT_MS: 503, never a silent downgrade to anonymous.
      if (isDbUnavailableError(err)) this.storeOutage.failed('Handshake session lookup', err);
      else this.logger.warn(`Session lookup failed on handshake: ${(err as Error).message}`);
      countHandshake('websocket', 'unavailable');
      refuse(socket, 503, RefusalCode.SERVICE_UNAVAILABLE, 'The session store is not answering: try again shortly');
      return;
    }
    // A logged-in user's slot in MAX_CONNECTIONS_PER_USER (across instances with REDIS_URL).
    let slot: ConnectionSlot | null = null;
    let overLimit: number | null = null;
    if (identity) {
      const admission = await this.presence.acquire(identity.userId);
      if (admission.ok) {
        slot = admission.slot;
        // Given back however the handshake ends (idempotent: a connection's own close frees it too).
        socket.once('close', () => this.presence.release(admission.slot));
      } else {
        overLimit = admission.limit;
      }
    }
    if (socket.destroyed) {
      if (slot) this.presence.release(slot);
      return;
    }
    if (this.closing) {
      countHandshake('websocket', 'shutting_down');
      refuse(socket, 503, 'SHUTTING_DOWN', 'Server shutting down, try again');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', noop);
      this.accept(ws, identity, batchMs, slot, overLimit);
    });
  }

  private accept(
    ws: WebSocket,
    identity: Awaited<ReturnType<HandshakeService['identify']>>,
    batchMs: number,
    slot: ConnectionSlot | null,
    overLimit: number | null,
  ): void {
    const conn = new WebSocketConnection(ws);
    const tagged = ws as TaggedSocket;
    this.sockets.add(ws);
    ws.on('error', onSocketError);
    ws.on('close', onClose); // shared listener, no per-connection closure (once() would wrap it)
    tagged._transport = this;
    if (overLimit !== null) {
      // Documented: the per-user limit completes the handshake, then closes 1008 with the reason.
      countHandshake('websocket', 'limit');
      ws.close(CloseCode.POLICY_VIOLATION, connectionLimitReason(overLimit));
      return;
    }
    conn.slot = slot;
    const opened = this.hub.open(conn, identity, batchMs);
    if (!opened.ok) {
      // Over the limit on this instance's own count (a parallel handshake took the last slot).
      if (slot) this.presence.release(slot);
      countHandshake('websocket', 'limit');
      ws.close(CloseCode.POLICY_VIOLATION, opened.reason);
      return;
    }
    countHandshake('websocket', 'accepted');
    tagged[CONN] = conn;
    this.gateway?.connected(conn);
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('ping', onPing);
  }

  /** Shared listeners (no closures per connection): `this` is the socket. */
  handleMessage(ws: TaggedSocket, data: WebSocket.RawData, isBinary: boolean): void {
    const conn = ws[CONN];
    if (!conn) return;
    if (isBinary) this.inbound.receive(conn, { kind: 'binary' });
    else this.inbound.receive(conn, { kind: 'text', text: data.toString() });
  }

  /**
   * A ping frame counts as an inbound message (WS_RATE_LIMIT / WS_RATE_BURST): answered
   * with a pong within the limit, not answered above it, and persistent abuse closes the
   * connection with 1008 like a message flood.
   */
  handlePing(ws: TaggedSocket, data: Buffer): void {
    const conn = ws[CONN];
    if (!conn?.open) return;
    this.hub.rateLimiter.admit(conn.id).then(
      (admission) => {
        if (!conn.open) return;
        if (admission.ok) {
          if (ws.readyState === WebSocket.OPEN) ws.pong(data);
        } else if (admission.abusive) {
          countLimitRefusal('rate_limit_close');
          this.hub.drop(conn, CloseCode.POLICY_VIOLATION, 'Rate limit exceeded persistently (ping frames)');
        } else {
          countLimitRefusal('rate_limit'); // left unanswered
        }
      },
      (err: Error) => this.logger.warn(`Ping admission failed: ${err.message}`, { connection_id: conn.id }),
    );
  }

  handleClose(ws: TaggedSocket): void {
    this.sockets.delete(ws);
    const conn = ws[CONN];
    if (conn) this.hub.closed(conn);
  }
}

function onMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  const ws = this as TaggedSocket;
  ws._transport?.handleMessage(ws, data, isBinary);
}
function onClose(this: WebSocket): void {
  const ws = this as TaggedSocket;
  ws._transport?.handleClose(ws);
}
function onPing(this: WebSocket, data: Buffer): void {
  const ws = this as TaggedSocket;
  ws._transport?.handlePing(ws, data);
}
function onPong(this: WebSocket): void {
  (this as TaggedSocket)[CONN]?.alive();
}
function noop(): void {}
/** `ws` reports a frame over WS_MAX_PAYLOAD as an error, then closes with 1009 on its own. */
function onSocketError(this: WebSocket, err: Error & { code?: string }): void {
  if (err?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') countLimitRefusal('payload_size');
}

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** `?batch=50ms` / `?batch=50` -> 50; absent -> 0; invalid -> null. */
export function parseBatch(url: string | undefined): number | null {
  const q = url?.indexOf('?') ?? -1;
  if (!url || q === -1) return 0;
  const raw = new URLSearchParams(url.slice(q + 1)).get('batch');
  if (raw === null || raw === '' || raw === '0' || raw === 'off') return 0;
  const m = /^(\d{1,4})(ms)?$/.exec(raw.trim());
  if (!m) return null;
  const ms = Number(m[1]);
  return ms >= BATCH_MS_MIN && ms <= BATCH_MS_MAX ? ms : null;
}

/** Answers a refused upgrade with a plain HTTP response and closes the socket. */
function refuse(socket: Duplex, status: number, code: string, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ statusCode: status, error: code, message });
  const reason = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.once('finish', () => socket.destroy());
  socket.on('error', noop);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
