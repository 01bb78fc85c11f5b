/**
 * One connection attempt over one transport. The client creates a new
 * transport per attempt and owns every retry decision; transports never
 * reconnect by themselves.
 */
export type TransportKind = 'websocket' | 'socketio' | 'sse';

export interface TransportCloseInfo {
  /** WebSocket close code when known (1000 normal, 1006 abnormal, 1008 policy, ...). */
  code?: number;
  reason: string;
}

export interface TransportEvents {
  /** The handshake succeeded; the server's `connection` message follows. */
  open(): void;
  /** One inbound message: the parsed envelope (or undefined if the frame was not JSON) and its raw text. */
  message(envelope: unknown, raw: string): void;
  /** The connection is gone (or never came up). Called at most once per transport. */
  close(info: TransportCloseInfo): void;
}

export interface Transport {
  readonly kind: TransportKind;
  /** Sends one envelope; returns the frame text exactly as sent (for logs). */
  send(envelope: { type: string } & Record<string, unknown>): string;
  /**
   * Sends text as typed by a person. Raw WebSocket and SSE (a POST) send it verbatim
   * (even malformed JSON, to see the server's error); Socket.IO needs an event name,
   * so the text must be a JSON object with a string `type`.
   */
  sendRaw(text: string): void;
  /** Closes the connection; `close` is reported through TransportEvents. */
  close(code?: number, reason?: string): void;
}

export type TransportFactory = (events: TransportEvents) => Transport;
