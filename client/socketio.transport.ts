import { io, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import type { Transport, TransportEvents, TransportFactory } from './transport';

export interface SocketIoTransportOptions {
  /** Extra handshake headers (Node only: browsers send their own cookies), e.g. `{cookie: 'rm.sid=...'}`. */
  headers?: Record<string, string>;
  /** Engine.IO path on the server (default `/socket.io`). */
  path?: string;
  /** Handshake timeout (ms). */
  timeoutMs?: number;
}

/**
 * Socket.IO namespace `/realtime`: each message type is an event name and
 * the payload is the full envelope, in both directions. socket.io-client's own
 * reconnection is off: the RealtimeClient decides when to retry.
 */
export function socketIoTransport(namespaceUrl: string, opts: SocketIoTransportOptions = {}): TransportFactory {
  return (events: TransportEvents): Transport => {
    let closed = false;
    const finish = (code: number | undefined, reason: string) => {
      if (closed) return;
      closed = true;
      socket.off();
      socket.offAny();
      socket.disconnect();
      events.close({ code, reason });
    };
    const options: Partial<ManagerOptions & SocketOptions> = {
      path: opts.path ?? '/socket.io',
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      withCredentials: true,
      timeout: opts.timeoutMs ?? 10_000,
    };
    if (opts.headers) options.extraHeaders = opts.headers;
    const socket = io(namespaceUrl, options);
    socket.on('connect', () => {
      if (!closed) events.open();
    });
    // Socket.IO has no close reasons: before closing a socket for a documented reason the server
    // sends an `error` whose message starts with its code (`IDLE_TIMEOUT: ...`), like a raw close reason.
    let serverReason: string | undefined;
    socket.onAny((event: string, payload: unknown) => {
      if (closed) return;
      if (event === 'error') serverReason = closeNotice(payload) ?? serverReason;
      events.message(payload, JSON.stringify(payload));
    });
    socket.on('disconnect', (reason: string) => {
      if (reason === 'io server disconnect') finish(1008, serverReason ?? `socket.io: ${reason}`);
      else finish(1006, `socket.io: ${reason}`);
    });
    socket.on('connect_error', (err: Error) => {
      finish(1006, `socket.io: ${err.message}`);
    });

    const emit = (envelope: { type: string } & Record<string, unknown>) => {
      if (closed || !socket.connected) throw new Error('Not connected');
      socket.emit(envelope.type, envelope);
    };
    return {
      kind: 'socketio',
      send(envelope) {
        emit(envelope);
        return JSON.stringify(envelope);
      },
      sendRaw(text) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          throw new Error(`Socket.IO needs a JSON object with a "type" (event name): ${(err as Error).message}`);
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || typeof (parsed as { type?: unknown }).type !== 'string') {
          throw new Error('Socket.IO needs a JSON object with a string "type" (the event name)');
        }
        emit(parsed as { type: string });
      },
      close(code = 1000, reason = 'client closed') {
        finish(code, reason);
      },
    };
  };
}

/** The message of a server `error` announcing a close (`{code, message: "<code>: ...", request_type: null}`), else undefined. */
function closeNotice(payload: unknown): string | undefined {
  const data = payload && typeof payload === 'object' ? (payload as { data?: unknown }).data : undefined;
  if (!data || typeof data !== 'object') return undefined;
  const { code, message, request_type } = data as { code?: unknown; message?: unknown; request_type?: unknown };
  if (request_type !== null || typeof code !== 'string' || typeof message !== 'string' || !/^[A-Z_]+$/.test(code)) return undefined;
  return message.startsWith(`${code}:`) ? message : undefined;
}
