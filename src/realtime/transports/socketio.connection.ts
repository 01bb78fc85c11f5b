import type { Duplex } from 'node:stream';
import type { Socket } from 'socket.io';
import type { CloseCode } from '../protocol/error-codes';
import type { ServerMessage } from '../protocol/server-messages';
import { Connection } from '../hub/connection';
import type { OutboundFrame } from '../hub/outbound-frame';

/** Engine.IO internals read for buffer accounting (public fields, untyped in its .d.ts). */
interface EngineSocketLike {
  readyState: string;
  transport: { name: string; socket?: { bufferedAmount?: number; _socket?: Duplex } };
  write(data: string, options: object): unknown;
}

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
    const packet = frame.ioPacket();
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

  close(_code: CloseCode, _reason: string): void {
    this.socket.disconnect(true);
  }

  terminate(): void {
    this.socket.disconnect(true);
  }

  /** The TCP socket under Engine.IO's websocket transport (long-polling has nothing to cork). */
  protected override tcpSocket(): Duplex | undefined {
    if (!this.socket.connected) return undefined;
    const t = (this.socket.conn as unknown as EngineSocketLike).transport;
    return t.name === 'websocket' ? t.socket?._socket : undefined;
  }
}
