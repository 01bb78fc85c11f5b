import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import type { CloseCode } from '../protocol/error-codes';
import type { ServerMessage } from '../protocol/server-messages';
import { Connection } from '../hub/connection';
import type { OutboundFrame } from '../hub/outbound-frame';
import { wsPayload } from './wire-frames';

const TEXT = { binary: false } as const;
/** After a server-initiated close, the peer has this long to answer before the socket is destroyed. */
export const CLOSE_GRACE_MS = 5000;

/** A raw WebSocket (`ws`) connection as the hub sees it. */
export class WebSocketConnection extends Connection {
  /** On the prototype, not per instance: idle connections are counted in the thousands. */
  get kind(): 'websocket' {
    return 'websocket';
  }

  constructor(readonly socket: WebSocket) {
    super();
  }

  bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  sendFrame(frame: OutboundFrame): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(wsPayload(frame), TEXT);
  }

  sendMessage(message: ServerMessage): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  ping(): boolean {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.ping();
    return true;
  }

  close(code: CloseCode, reason: string): void {
    const ws = this.socket;
    if (ws.readyState === WebSocket.CLOSED) return;
    // Close reasons are limited to 123 bytes.
    ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
    // A stuck peer may never read the close frame: do not keep its buffers for long.
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  terminate(): void {
    this.socket.terminate();
  }

  protected override tcpSocket(): Duplex | undefined {
    return this.socket.readyState === WebSocket.OPEN ? (this.socket as unknown as { _socket?: Duplex })._socket : undefined;
  }
}
