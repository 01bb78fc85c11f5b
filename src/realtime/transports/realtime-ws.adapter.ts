import { INestApplication, Logger, WebSocketAdapter, WsMessageHandler } from '@nestjs/common';
import type { Server as HttpServer } from 'node:http';
import type { Observable } from 'rxjs';
import { RealtimeExceptionFilter } from '../gateway/realtime-exception.filter';
import type { Connection } from '../hub/connection';
import { InboundDispatcher, InboundItem, InboundQueue } from '../hub/inbound-queue';
import { InboundRequest } from '../hub/inbound-request';
import { FrameResult, MessageParser } from '../hub/message-parser';
import { ProtocolError } from '../hub/protocol-error';
import { RealtimeHub } from '../hub/realtime-hub.service';
import type { Reply } from '../hub/reply';
import { RequestLane } from '../hub/request-lane';
import { CLIENT_MESSAGE_TYPES } from '../protocol/client-messages';
import { ErrorCode } from '../protocol/error-codes';
import { countInbound } from '../realtime.metrics';
import { RawWebSocketTransport } from './raw-websocket.transport';
import { RealtimeServer } from './realtime-server';
import { SocketIoTransport } from './socketio.transport';
import { SseTransport } from './sse.transport';

/** One connection's gateway handlers (Nest's callbacks bound to it), by index in CLIENT_MESSAGE_TYPES. */
type HandlerTable = readonly (((req: InboundRequest) => Promise<unknown>) | undefined)[];
type Transform = (data: unknown) => Observable<unknown>;

const TYPE_INDEX: ReadonlyMap<string, number> = new Map(CLIENT_MESSAGE_TYPES.map((type, i) => [type, i]));

/** Resolves at the next turn of the event loop; one timer shared by every waiter of the same turn. */
let turn: Promise<void> | null = null;
function nextTurn(): Promise<void> {
  return (turn ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      turn = null;
      resolve();
    }),
  ));
}

/**
 * The app's one WebSocket adapter (Nest allows one per app: `app.useWebSocketAdapter`), so it
 * serves both transports on the app's HTTP server: the raw WebSocket endpoint `/ws/realtime/`
 * (RawWebSocketTransport) and Socket.IO, namespace `/realtime` at `/socket.io`
 * (SocketIoTransport). Every connection of either is a client of the same gateway
 * (RealtimeGateway), and every message reaches the same handlers through Nest's pipeline.
 *
 * - `create`: both endpoints, on the HTTP server (the gateway has no port of its own);
 * - `bindClientConnect`: each connection a transport accepted is handed to Nest;
 * - `bindMessageHandlers`: the gateway's handlers for that connection are kept by the
 *   InboundQueue, which takes its messages one at a time, in order, and rate limits them;
 * - `dispatch` (per message): reads it (INVALID_JSON, UNKNOWN_TYPE and a wrong shape answered
 *   here, through RealtimeExceptionFilter: unlike Nest's own adapters, nothing is dropped
 *   silently), routes it by its `type` to that type's handler, runs it (guards, pipes, handler,
 *   filter), and sends what the handler returns (`{type, data, timestamp, id}` as a frame or an
 *   event, or to the Socket.IO acknowledgement).
 * Fan-out (price and portfolio updates) does not come here: the hub writes shared frames to the
 * connections directly.
 */
export class RealtimeWsAdapter implements WebSocketAdapter<RealtimeServer, Connection>, InboundDispatcher<HandlerTable> {
  private readonly logger = new Logger('RealtimeWsAdapter');
  private readonly parser = new MessageParser();
  /** Nest's `transform` (a handler's result, value, promise or observable, as an observable); the same for every client. */
  private transform: Transform | null = null;
  private parts: { hub: RealtimeHub; inbound: InboundQueue; lane: RequestLane; errors: RealtimeExceptionFilter } | null = null;
  private readonly unknownHandlers = new Set<string>();

  constructor(private readonly app: INestApplication) {}

  create(port: number): RealtimeServer {
    if (port) throw new Error(`The realtime gateway is served on the app's HTTP server: it cannot listen on a port of its own (${port})`);
    const get = <T>(token: new (...args: never[]) => T): T => this.app.get(token, { strict: false });
    this.parts = { hub: get(RealtimeHub), inbound: get(InboundQueue), lane: get(RequestLane), errors: get(RealtimeExceptionFilter) };
    this.parts.inbound.useDispatcher(this);
    const http = this.app.getHttpServer() as HttpServer;
    const server = new RealtimeServer();
    server.io = get(SocketIoTransport).listen(http, server);
    get(RawWebSocketTransport).listen(http, server);
    // The Server-Sent Events fallback is served by its controller; its streams are the gateway's clients too.
    get(SseTransport).listen(server);
    return server;
  }

  bindClientConnect(server: RealtimeServer, callback: (conn: Connection) => void): void {
    server.bind(callback);
  }

  // No bindClientDisconnect: the gateway has no handleDisconnect (the transports tell the hub), and
  // Nest would otherwise keep one more closure per connection.

  bindMessageHandlers(conn: Connection, handlers: WsMessageHandler[], transform: Transform): void {
    this.transform ??= transform;
    const table: HandlerTable[number][] = new Array(CLIENT_MESSAGE_TYPES.length);
    for (const { message, callback } of handlers) {
      const i = TYPE_INDEX.get(message);
      if (i === undefined) {
        if (!this.unknownHandlers.has(message)) this.logger.error(`The gateway handles "${message}", which is not a client message type: ignored`);
        this.unknownHandlers.add(message);
        continue;
      }
      table[i] = callback as HandlerTable[number];
    }
    this.parts!.inbound.bind(conn, table);
  }

  async close(server: RealtimeServer): Promise<void> {
    await server.close();
  }

  dispose(): void {}

  /**
   * One admitted message: read it, route it by type to the gateway's handler, run it through
   * Nest's pipeline and send its reply. Resolves when the next message of the connection may be
   * taken: when this one is done, or at the next turn of the event loop if it is still waiting
   * (a subscribe in the database lane): that wait holds up nothing.
   */
  async dispatch(conn: Connection, item: InboundItem, table: HandlerTable): Promise<void> {
    const { errors, inbound } = this.parts!;
    const req = InboundRequest.of(item);
    const framed = this.read(item);
    if (!framed.ok) {
      errors.answer(conn, req, framed.error);
      return;
    }
    req.read(framed.envelope);
    const handle = table[TYPE_INDEX.get(framed.envelope.type)!];
    if (!handle) {
      errors.answer(conn, req, new Error(`No handler for ${framed.envelope.type}`));
      return;
    }
    // Done within this turn (no I/O needed): answered in order, as every message that needs no
    // database. Otherwise it waits in the connection's database lane, and the next messages are taken meanwhile.
    await Promise.race([this.run(conn, req, handle), nextTurn()]);
    if (req.valid) inbound.engage(conn);
  }

  refuse(conn: Connection, item: InboundItem, error: ProtocolError): void {
    this.parts!.errors.answer(conn, InboundRequest.of(item), error);
  }

  private read(item: InboundItem): FrameResult {
    switch (item.kind) {
      case 'text':
        return this.parser.frameText(item.text);
      case 'event':
        return this.parser.frameEvent(item.event, item.args);
      case 'binary':
        return { ok: false, error: new ProtocolError(ErrorCode.INVALID_JSON, 'Binary frames are not accepted: send JSON text frames') };
    }
  }

  /** The handler through Nest's pipeline; every reply it yields is sent; resolves when it is over, whichever way. */
  private run(conn: Connection, req: InboundRequest, handle: NonNullable<HandlerTable[number]>): Promise<void> {
    const { hub, inbound, lane } = this.parts!;
    return new Promise<void>((resolve) => {
      const end = () => {
        if (req.valid) inbound.engage(conn);
        lane.finish(conn, req);
        resolve();
      };
      this.transform!(handle(req)).subscribe({
        next: (value) => {
          if (value == null) return;
          const reply = value as Reply;
          countInbound(req.type, 'ok');
          try {
            hub.reply(conn, req, reply.type, reply.data);
          } catch (err) {
            this.logger.error(`Sending the reply to ${req.type} failed: ${(err as Error)?.stack ?? String(err)}`, { connection_id: conn.id });
          }
        },
        // The filter answered every error of the pipeline; one that escapes it is a bug.
        error: (err: unknown) => {
          this.logger.error(`Handling ${req.type} failed outside the exception filter: ${(err as Error)?.stack ?? String(err)}`, {
            connection_id: conn.id,
          });
          end();
        },
        complete: end,
      });
    });
  }
}
