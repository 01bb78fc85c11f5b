import { SERVER_MESSAGE_TYPES } from '../src/realtime/protocol/server-messages';
import type { Transport, TransportEvents, TransportFactory } from './transport';

/**
 * The part of the EventSource API the transport uses. The browser's EventSource fits; in Node,
 * pass `createEventSource` (an EventSource package, or any object with these members).
 * Handler parameters are typed `never` so each implementation's own event type is accepted.
 */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: never) => unknown) | null;
  addEventListener(type: string, listener: (ev: never) => unknown): void;
  close(): void;
}

/** Opens the stream for one attempt (e.g. with a cookie and an Origin header in Node). */
export type EventSourceFactory = (url: string, init: { withCredentials: boolean }) => EventSourceLike;

/** What one attempt asks for in its URL: the topics to subscribe at once, and where to resume (`SYMBOL:seq,...`). */
export interface SseSelection {
  assets: readonly string[];
  portfolios: readonly number[];
  /** The resume cursor, the `id` format of the stream's `asset_update` events: `AAPL:123,MSFT:456`. */
  lastEventId?: string;
}

/** The part of `fetch` the transport uses for its POSTs. */
export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; credentials: 'same-origin' | 'include' },
) => Promise<{ status: number }>;

export interface SseTransportOptions {
  /** How to open the stream (default: the global EventSource, with credentials). */
  createEventSource?: EventSourceFactory;
  /** How to POST client messages (default: the global fetch). */
  fetch?: FetchLike;
  /** Extra headers of the POSTs (Node: e.g. `{origin}`; browsers set their own). */
  headers?: Record<string, string>;
  /** The topics and resume cursor of each attempt, read when it starts (default: none). */
  selection?: () => SseSelection;
}

/** The EventSource `readyState` of a closed stream. */
const CLOSED = 2;

function defaultEventSource(): EventSourceFactory {
  const Ctor = (globalThis as { EventSource?: new (url: string, init: { withCredentials: boolean }) => EventSourceLike }).EventSource;
  if (!Ctor) throw new Error('No global EventSource in this runtime: pass `createEventSource`');
  return (url, init) => new Ctor(url, init);
}

function defaultFetch(): FetchLike {
  const f = (globalThis as { fetch?: FetchLike }).fetch;
  if (!f) throw new Error('No global fetch in this runtime: pass `fetch`');
  return f;
}

/** `streamUrl` with the selection as its query (`symbols`, `portfolios`, `last_event_id`). */
export function sseStreamUrl(streamUrl: string, selection: SseSelection | undefined): string {
  const q: string[] = [];
  if (selection?.assets.length) q.push(`symbols=${selection.assets.map(encodeURIComponent).join(',')}`);
  if (selection?.portfolios.length) q.push(`portfolios=${selection.portfolios.join(',')}`);
  if (selection?.lastEventId) q.push(`last_event_id=${encodeURIComponent(selection.lastEventId)}`);
  return q.length === 0 ? streamUrl : `${streamUrl}${streamUrl.includes('?') ? '&' : '?'}${q.join('&')}`;
}

/**
 * Server-Sent Events, the fallback for networks that refuse WebSocket (`GET /realtime/sse`):
 * one event per server envelope (`event: <type>`, `data: <envelope>`). SSE is one-way, so the
 * topics of an attempt are in its URL, and client messages are POSTed, one at a time and in
 * order, to `/realtime/sse/<connection_id>/messages` with the stream's `sse_token`; their
 * replies come on the stream. EventSource's own reconnection is not used: the first error
 * closes this transport and the client decides (the next attempt's URL carries the resume cursor).
 */
export function sseTransport(streamUrl: string, opts: SseTransportOptions = {}): TransportFactory {
  return (events: TransportEvents): Transport => {
    let closed = false;
    let source: EventSourceLike | undefined;
    /** Set by the stream's `connection` event: where and how messages are POSTed. */
    let stream: { id: string; token: string } | null = null;
    /** A server `error` announcing the close (`IDLE_TIMEOUT: ...`), like a WebSocket close reason. */
    let serverReason: string | undefined;
    let opened = false;
    let queue: Promise<void> = Promise.resolve();

    const finish = (code: number | undefined, reason: string) => {
      if (closed) return;
      closed = true;
      try {
        source?.close();
      } catch {
        // Already closed.
      }
      events.close({ code, reason });
    };

    const onEvent = (ev: { data?: unknown }) => {
      if (closed) return;
      if (typeof ev.data !== 'string') {
        // EventSource's own `error` (no data): the stream failed or ended; it would reconnect by itself, so stop it.
        if (serverReason) finish(1008, serverReason);
        else finish(1006, opened ? 'sse: connection lost' : 'sse: connection failed');
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(ev.data);
      } catch {
        parsed = undefined;
      }
      const env = parsed as { type?: unknown; data?: Record<string, unknown> } | undefined;
      if (env?.type === 'connection' && typeof env.data?.connection_id === 'string' && typeof env.data.sse_token === 'string') {
        stream = { id: env.data.connection_id, token: env.data.sse_token };
      }
      if (env?.type === 'error') serverReason = closeNotice(env.data) ?? serverReason;
      events.message(parsed, ev.data);
    };

    try {
      source = (opts.createEventSource ?? defaultEventSource())(sseStreamUrl(streamUrl, opts.selection?.()), { withCredentials: true });
    } catch (err) {
      queueMicrotask(() => finish(undefined, err instanceof Error ? err.message : String(err)));
      return { kind: 'sse', send: () => '', sendRaw: () => undefined, close: () => undefined };
    }
    source.onopen = () => {
      if (closed) return;
      opened = true;
      events.open();
    };
    // Named events, one listener per server message type. `error` gets both the server's `error` events
    // (with data) and EventSource's own error (without): onEvent tells them apart.
    for (const type of SERVER_MESSAGE_TYPES) source.addEventListener(type, onEvent as (ev: never) => unknown);

    /** POSTs one message after the previous one was taken (the server handles a stream's messages in arrival order). */
    const post = (text: string, id: unknown, type: string) => {
      if (closed || !stream || source?.readyState === CLOSED) throw new Error('Not connected');
      const { id: connectionId, token } = stream;
      const doFetch = opts.fetch ?? defaultFetch();
      const url = `${streamUrl.replace(/[?#].*$/, '')}/${encodeURIComponent(connectionId)}/messages`;
      queue = queue.then(async () => {
        if (closed) return;
        let status: number;
        try {
          ({ status } = await doFetch(url, {
            method: 'POST',
            // text/plain: a "simple" request, no CORS preflight.
            headers: { ...opts.headers, 'content-type': 'text/plain;charset=UTF-8', 'x-sse-token': token },
            body: text,
            credentials: 'same-origin',
          }));
        } catch (err) {
          finish(1006, `sse: message POST failed: ${err instanceof Error ? err.message : String(err)}`);
          return;
        }
        if (status >= 200 && status < 300) return;
        if (status === 403 || status === 404) {
          // The stream is gone from that server (restarted, or another instance answered): a new stream is needed.
          finish(1006, `sse: stream not found (HTTP ${status})`);
          return;
        }
        // Refused before it reached the stream (413 too large, 5xx): answer the request here, as the server would.
        if (closed) return;
        const code = status === 413 || status === 400 ? 'VALIDATION_FAILED' : 'SERVICE_UNAVAILABLE';
        const reqId = typeof id === 'string' || typeof id === 'number' ? id : null;
        const envelope = {
          type: 'error',
          data: { code, message: `The message was refused (HTTP ${status})`, request_type: type || null, id: reqId },
          timestamp: new Date().toISOString(),
          ...(reqId === null ? {} : { id: reqId }),
        };
        events.message(envelope, JSON.stringify(envelope));
      });
    };

    return {
      kind: 'sse',
      send(envelope) {
        const text = JSON.stringify(envelope);
        post(text, envelope.id, envelope.type);
        return text;
      },
      sendRaw(text) {
        let id: unknown;
        let type = '';
        try {
          const v = JSON.parse(text) as { id?: unknown; type?: unknown };
          id = v?.id;
          type = typeof v?.type === 'string' ? v.type : '';
        } catch {
          // Sent as typed: the server answers INVALID_JSON on the stream.
        }
        post(text, id, type);
      },
      close(code = 1000, reason = 'client closed') {
        finish(code, reason);
      },
    };
  };
}

/** The message of a server `error` announcing a close (`{code, message: "<code>: ...", request_type: null}`), else undefined. */
function closeNotice(data: unknown): string | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const { code, message, request_type } = data as { code?: unknown; message?: unknown; request_type?: unknown };
  if (request_type !== null || typeof code !== 'string' || typeof message !== 'string' || !/^[A-Z_]+$/.test(code)) return undefined;
  return message.startsWith(`${code}:`) ? message : undefined;
}
