import type { Transport, TransportEvents, TransportFactory } from './transport';

/**
 * The part of the WebSocket API the client uses. The browser's WebSocket,
 * Node 22's global WebSocket and the `ws` package all fit. Handler parameters
 * are typed `never` so each implementation's own event type is accepted.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: never) => unknown) | null;
  onmessage: ((ev: never) => unknown) | null;
  onclose: ((ev: never) => unknown) | null;
  onerror: ((ev: never) => unknown) | null;
}

/** Creates the socket for one attempt (e.g. `(url) => new WebSocket(url, {headers: {cookie}})` with `ws` in Node). */
export type WebSocketFactory = (url: string) => WebSocketLike;

const OPEN = 1;

function defaultFactory(): WebSocketFactory {
  const Ctor = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Ctor) {
    throw new Error('No global WebSocket in this runtime: pass `createWebSocket` (for example with the `ws` package in Node < 22)');
  }
  return (url) => new Ctor(url);
}

/** Raw WebSocket at `/ws/realtime/`: one JSON envelope per text frame. */
export function webSocketTransport(url: string, createWebSocket?: WebSocketFactory): TransportFactory {
  return (events: TransportEvents): Transport => {
    let closed = false;
    const finish = (code: number | undefined, reason: string) => {
      if (closed) return;
      closed = true;
      events.close({ code, reason });
    };
    let socket: WebSocketLike;
    try {
      socket = (createWebSocket ?? defaultFactory())(url);
    } catch (err) {
      // Report asynchronously, like a failed handshake would be.
      queueMicrotask(() => finish(undefined, err instanceof Error ? err.message : String(err)));
      return { kind: 'websocket', send: () => '', sendRaw: () => undefined, close: () => undefined };
    }
    socket.onopen = () => {
      if (!closed) events.open();
    };
    socket.onmessage = (ev: { data: unknown }) => {
      if (closed) return;
      if (typeof ev.data !== 'string') {
        events.message(undefined, '[binary frame]');
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(ev.data);
      } catch {
        parsed = undefined;
      }
      events.message(parsed, ev.data);
    };
    socket.onclose = (ev: { code?: number; reason?: string }) => {
      finish(ev.code, ev.reason || (ev.code === 1006 || ev.code === undefined ? 'connection lost' : `closed (${ev.code})`));
    };
    // An error is always followed by close in the WebSocket API; close carries the outcome.
    socket.onerror = () => undefined;

    const sendText = (text: string) => {
      if (closed || socket.readyState !== OPEN) throw new Error('Not connected');
      socket.send(text);
    };
    return {
      kind: 'websocket',
      send(envelope) {
        const text = JSON.stringify(envelope);
        sendText(text);
        return text;
      },
      sendRaw(text) {
        sendText(text);
      },
      close(code = 1000, reason = 'client closed') {
        try {
          socket.close(code, reason);
        } catch {
          // Closing a socket that is still connecting throws in some runtimes; the close event still follows.
        }
        // Some implementations never fire close for a socket closed while connecting; report it now.
        finish(code, reason);
      },
    };
  };
}
