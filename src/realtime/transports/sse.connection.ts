import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode } from '../protocol/error-codes';
import type { ServerMessage } from '../protocol/server-messages';
import { CloseReason, Connection } from '../hub/connection';
import { FrameEncoding, type OutboundFrame } from '../hub/outbound-frame';
import { formatSseCursor } from './sse-request';
import { CLOSE_GRACE_MS } from './websocket.connection';

/** The reconnection delay the stream asks EventSource for (its first line). */
export const SSE_RETRY_MS = 3000;
/** The comment line written every HEARTBEAT_INTERVAL seconds, so proxies keep an idle stream open. */
export const SSE_KEEP_ALIVE = ': keep-alive\n\n';

/** The response headers of a stream (`text/event-stream`, nothing cached, transformed or buffered by a proxy). */
export const SSE_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
});

const CLOSE_REASON_CODES: ReadonlySet<string> = new Set(Object.values(CloseReason));

/** `event: <type>` and `data: <envelope>`: the part of a shared frame's event that is the same for every stream, built once per frame. */
const SSE_EVENT = new FrameEncoding<string>('sse', (frame) => `event: ${frame.type}\ndata: ${frame.json}\n\n`);

/** The symbol of an asset topic key (`a:AAPL`), else null. */
function assetOf(topic: string | null): string | null {
  return topic !== null && topic.startsWith('a:') ? topic.slice(2) : null;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * One Server-Sent Events stream (`GET /realtime/sse`) as the hub sees it. Server → client only:
 * each server envelope is one event, `event: <type>` and `data: <the envelope's JSON, exactly
 * as the raw WebSocket sends it>`; every `asset_update` (and batched `asset_updates`) also
 * carries `id: <cursor>`, the last seq sent per symbol on this stream (`AAPL:123,MSFT:456`),
 * which EventSource sends back as `Last-Event-ID` when it reconnects. Client messages arrive
 * by POST (SseTransport), authorised by this stream's secret token, sent in its `connection` event.
 */
export class SseConnection extends Connection {
  get kind(): 'sse' {
    return 'sse';
  }

  /** Last seq sent per symbol on this stream (the event id). */
  private readonly sent = new Map<string, number>();
  private readonly tokenDigest: Buffer;
  private started = false;

  constructor(
    readonly res: ServerResponse,
    /** The stream's secret (`sse_token` of its `connection` event). */
    private readonly token: string = randomBytes(24).toString('base64url'),
    /** Extra response headers (CORS for an ALLOWED_ORIGINS page). */
    private readonly extraHeaders: OutgoingHttpHeaders = {},
  ) {
    super();
    this.tokenDigest = digest(token);
  }

  /** Whether `candidate` is this stream's token (constant time). */
  tokenMatches(candidate: unknown): boolean {
    return typeof candidate === 'string' && candidate.length > 0 && candidate.length <= 256 && timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  /** A resume starts from the seqs the client had: the next event ids carry them until newer ones are sent. */
  resumeFrom(since: ReadonlyMap<string, number>): void {
    for (const [symbol, seq] of since) this.sent.set(symbol, seq);
  }

  /** The event id an update written now would carry (empty before any asset update). */
  cursor(): string {
    const held = this.assets;
    for (const symbol of this.sent.keys()) if (!held?.has(symbol)) this.sent.delete(symbol);
    return formatSseCursor(this.sent);
  }

  /** Bytes the response holds that the kernel has not taken yet. */
  bufferedBytes(): number {
    return this.res.writableLength;
  }

  sendFrame(frame: OutboundFrame): void {
    if (!this.writable()) return;
    let id = false;
    const symbol = frame.type === 'asset_update' ? assetOf(frame.topic) : null;
    if (symbol !== null) {
      this.sent.set(symbol, frame.seq);
      id = true;
    } else if (frame.type === 'asset_updates') {
      id = this.noteBatch(frame.dataJson);
    }
    const event = frame.encoded(SSE_EVENT);
    this.write(id ? `id: ${this.cursor()}\n${event}` : event);
  }

  sendMessage(message: ServerMessage): void {
    if (!this.writable()) return;
    // The stream's token goes out with its `connection` event (the hub builds that message for every transport).
    const out = message.type === 'connection' ? { ...message, data: { ...message.data, sse_token: this.token } } : message;
    this.write(`event: ${message.type}\ndata: ${JSON.stringify(out)}\n\n`);
  }

  /** Keep-alive comment (SseTransport calls this every HEARTBEAT_INTERVAL); skipped while the stream is backed up. */
  ping(): boolean {
    if (this.writable() && this.started && this.res.writableLength === 0) this.res.write(SSE_KEEP_ALIVE);
    return true;
  }

  /**
   * Ends the stream. For the documented reasons (`IDLE_TIMEOUT: ...`, `PROTOCOL_ERRORS: ...`) an
   * `error` event with that code goes out first, as on Socket.IO. A reader that does not take the
   * end (a stalled one) is cut off CLOSE_GRACE_MS later, with whatever is still buffered.
   */
  close(code: CloseCode, reason: string): void {
    const res = this.res;
    if (!this.writable()) return;
    const prefix = reason.slice(0, Math.max(0, reason.indexOf(':')));
    if (code !== CloseCode.TRY_AGAIN_LATER && CLOSE_REASON_CODES.has(prefix)) {
      const timestamp = new Date().toISOString();
      this.write(
        `event: error\ndata: ${JSON.stringify({ type: 'error', data: { code: prefix, message: reason, request_type: null, id: null }, timestamp })}\n\n`,
      );
    }
    if (!this.started) this.begin();
    res.end();
    setTimeout(() => res.destroy(), CLOSE_GRACE_MS).unref();
  }

  terminate(): void {
    this.res.destroy();
  }

  protected override tcpSocket(): Duplex | undefined {
    return this.writable() ? (this.res.socket ?? undefined) : undefined;
  }

  private writable(): boolean {
    return !this.res.writableEnded && !this.res.destroyed;
  }

  /** Status line, headers and the `retry` field: on the first event (nothing is sent before the hub accepts the stream). */
  private begin(): void {
    this.started = true;
    this.res.writeHead(200, { ...SSE_HEADERS, ...this.extraHeaders });
    this.res.write(`retry: ${SSE_RETRY_MS}\n\n`);
  }

  private write(text: string): void {
    if (!this.started) this.begin();
    this.res.write(text);
  }

  /** A batched frame (opt-in, per connection): its updates move the cursor too. */
  private noteBatch(dataJson: string): boolean {
    let updates: unknown;
    try {
      updates = (JSON.parse(dataJson) as { updates?: unknown }).updates;
    } catch {
      return false;
    }
    if (!Array.isArray(updates)) return false;
    for (const u of updates as { symbol?: unknown; seq?: unknown }[]) {
      if (typeof u?.symbol === 'string' && typeof u.seq === 'number') this.sent.set(u.symbol, u.seq);
    }
    return updates.length > 0;
  }
}
