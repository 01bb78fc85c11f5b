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
}

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

  /** The shared pre-encoded Socket.IO packet, written straight to Engine.IO (no per-socket encoding). */
  sendFrame(frame: OutboundFrame): void {
    if (!this.socket.connected) return;
    const packet = ioPacket(frame);
    this.engineBytes += packet.data.length;
    (this.socket.conn as unknown as EngineSocketLike).write(packet.data, packet.options);
  }

  sendMessage(message: ServerMessage): void {
    if (this.socket.connected) this.socket.emit(message.type, message);
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
