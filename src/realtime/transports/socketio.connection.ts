import type { Duplex } from 'node:stream';
import type { Socket } from 'socket.io';
import { CloseCode } from '../protocol/error-codes';
import type { ServerMessage } from '../protocol/server-messages';
import { CloseReason, Connection } from '../hub/connection';
import type { OutboundFrame } from '../hub/outbound-frame';
import { CLOSE_GRACE_MS } from './websocket.connection';
import { ioPacket } from './wire-frames';

/** Engine.IO internals read for buffer accounting and forced closes (public fields, untyped in its .d.ts). */
interface EngineSocketLike {
  readyState: string;
  transport: { name: string; socket?: { bufferedAmount?: number; _socket?: Duplex; terminate?: () => void } };
  write(data: string, options: object): unknown;
  close(discard?: boolean): unknown;
  /** Private in its .d.ts: the packets waiting for the transport, and the method that hands them all over at once. */
  writeBuffer: { type: 'message'; data: string; options: object }[];
  flush(): void;
}

type IoPacket = ReturnType<typeof ioPacket>;

const CLOSE_REASON_CODES: ReadonlySet<string> = new Set(Object.values(CloseReason));

/** A Socket.IO socket in the `/realtime` namespace as the hub sees it. */
export class SocketIoConnection extends Connection {
  get kind(): 'socketio' {
    return 'socketio';
  }
  /** Bytes written to Engine.IO's buffer since it last flushed to its transport (reset on 'drain'). */
  engineBytes = 0;

  constructor(readonly socket: Socket) {
    super();
  }

  bufferedBytes(): number {
    const t = (this.socket.conn as unknown as EngineSocketLike).transport;
    return this.engineBytes + (t.name === 'websocket' ? (t.socket?.bufferedAmount ?? 0) : 0);
  }

  /** Packets of the current burst (while corked), handed to Engine.IO together on uncork. */
  private held: IoPacket[] | null = null;

  /** The shared pre-encoded Socket.IO packet, written straight to Engine.IO (no per-socket encoding). */
  sendFrame(frame: OutboundFrame): void {
    if (!this.socket.connected) return;
    const packet = ioPacket(frame);
    this.engineBytes += packet.data.length;
    if (this.held !== null) this.held.push(packet);
    else (this.socket.conn as unknown as EngineSocketLike).write(packet.data, packet.options);
  }

  sendMessage(message: ServerMessage): void {
    this.releaseHeld(); // in order: the burst's frames first
    if (this.socket.connected) this.socket.emit(message.type, message);
  }

  /**
   * Corks the TCP socket and holds the burst's packets: Engine.IO writes the first packet of a
   * series at once and the rest only after that write's callback, i.e. in a second syscall;
   * handed over together on uncork, a burst leaves in one.
   */
  override cork(): boolean {
    if (!super.cork()) return false;
    this.held ??= [];
    return true;
  }

  override uncork(): void {
    this.releaseHeld();
    this.held = null;
    super.uncork();
  }

  /**
   * What Engine.IO's own `write` does for each packet (queue it unless the socket is closing or
   * closed), then one `flush`, which hands the whole queue to the transport in one `send`.
   */
  private releaseHeld(): void {
    const held = this.held;
    if (held === null || held.length === 0) return;
    this.held = [];
    const engine = this.socket.conn as unknown as EngineSocketLike;
    if (engine.readyState === 'closing' || engine.readyState === 'closed') return;
    for (let i = 0; i < held.length; i++) engine.writeBuffer.push({ type: 'message', data: held[i].data, options: held[i].options });
    engine.flush();
  }

  /** Engine.IO pings on its own (pingInterval / pingTimeout). */
  ping(): boolean {
    return false;
  }

  /**
   * Socket.IO has no close codes: for the documented reasons (`IDLE_TIMEOUT: ...`,
   * `PROTOCOL_ERRORS: ...`) an `error` event with that code goes out first. Then the
   * disconnect; Engine.IO only closes once its buffer drains, which a stalled reader
   * never lets happen, so after CLOSE_GRACE_MS whatever is left is destroyed.
   */
  close(code: CloseCode, reason: string): void {
    const prefix = reason.slice(0, Math.max(0, reason.indexOf(':')));
    if (this.socket.connected && code !== CloseCode.TRY_AGAIN_LATER && CLOSE_REASON_CODES.has(prefix)) {
      const timestamp = new Date().toISOString();
      this.socket.emit('error', { type: 'error', data: { code: prefix, message: reason, request_type: null, id: null }, timestamp });
    }
    const engine = this.socket.conn as unknown as EngineSocketLike;
    this.socket.disconnect(true);
    setTimeout(() => destroyEngineSocket(engine), CLOSE_GRACE_MS).unref();
  }

  terminate(): void {
    const engine = this.socket.conn as unknown as EngineSocketLike;
    this.socket.disconnect(true);
    destroyEngineSocket(engine);
  }

  /** The TCP socket under Engine.IO's websocket transport (long-polling has nothing to cork). */
  protected override tcpSocket(): Duplex | undefined {
    if (!this.socket.connected) return undefined;
    const t = (this.socket.conn as unknown as EngineSocketLike).transport;
    return t.name === 'websocket' ? t.socket?._socket : undefined;
  }
}

/**
 * Closes an Engine.IO socket now, whatever is still buffered: its write buffer is
 * discarded (`close(true)`), and the WebSocket under it is terminated, which destroys
 * the TCP socket and the bytes queued in it. Nothing happens to a socket already closed.
 */
function destroyEngineSocket(engine: EngineSocketLike): void {
  const transport = engine.transport;
  if (engine.readyState !== 'closed') engine.close(true);
  if (transport?.name === 'websocket') transport.socket?.terminate?.();
}
