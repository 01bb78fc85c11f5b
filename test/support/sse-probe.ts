import type { EventSourceFactory, EventSourceLike } from '../../client';
import type { Envelope } from './realtime-probes';

/**
 * Server-Sent Events for the tests, over Node's fetch: a parser of the `text/event-stream`
 * format (the WHATWG rules: `event`, `data`, `id`, `retry` fields, `:` comments, blank line
 * dispatches), a probe that records every byte and event of a stream, and a minimal
 * EventSource for the typed client in Node (no reconnection of its own: the client decides).
 */

export interface SseEvent {
  /** `event:` field (`message` when absent). */
  event: string;
  data: string;
  /** The `id:` field of this event, null when it had none. */
  id: string | null;
  /** The stream's last event id when this event was dispatched (ids persist across events, as in EventSource). */
  lastEventId: string;
}

/** Incremental `text/event-stream` parser. */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | null = null;
  private sawData = false;
  lastEventId = '';
  retry: number | null = null;
  comments: string[] = [];

  constructor(private readonly dispatch: (e: SseEvent) => void) {}

  feed(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) return;
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) return;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.sawData) this.dispatch({ event: this.event || 'message', data: this.data.join('\n'), id: this.id, lastEventId: this.lastEventId });
      this.event = '';
      this.data = [];
      this.id = null;
      this.sawData = false;
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.data.push(value);
      this.sawData = true;
    } else if (field === 'id' && !value.includes('\0')) {
      this.id = value;
      this.lastEventId = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }
}

export interface SseOpenOptions {
  cookie?: string;
  origin?: string;
  lastEventId?: string;
  headers?: Record<string, string>;
}

/** A refused stream: its status and JSON body. */
export interface SseRefusal {
  status: number;
  body: any;
  headers: Headers;
}

/** One stream, read to the end: every event, comment and byte, and its envelopes to wait for. */
export class SseProbe {
  readonly events: SseEvent[] = [];
  readonly received: Envelope[] = [];
  raw = '';
  readonly parser: SseParser;
  readonly ended: Promise<void>;
  private waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  /** Events not taken by next()/nextEvent() yet. */
  private readonly pending: SseEvent[] = [];
  private endedFlag = false;

  private constructor(
    readonly url: string,
    readonly status: number,
    readonly headers: Headers,
    body: ReadableStream<Uint8Array>,
    private readonly abort: AbortController,
    private readonly origin?: string,
  ) {
    this.parser = new SseParser((e) => this.onEvent(e));
    this.ended = this.pump(body);
  }

  /** Opens a stream; rejects with the refusal (status, JSON body) when it is not a 200 event stream. */
  static async open(url: string, opts: SseOpenOptions = {}): Promise<SseProbe> {
    const r = await SseProbe.request(url, opts);
    if (r instanceof SseProbe) return r;
    throw Object.assign(new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`), r);
  }

  /** Opens a stream, or answers the refusal. */
  static async request(url: string, opts: SseOpenOptions = {}): Promise<SseProbe | SseRefusal> {
    const abort = new AbortController();
    const headers: Record<string, string> = { accept: 'text/event-stream', ...opts.headers };
    if (opts.cookie) headers.cookie = opts.cookie;
    if (opts.origin) headers.origin = opts.origin;
    if (opts.lastEventId !== undefined) headers['last-event-id'] = opts.lastEventId;
    const res = await fetch(url, { headers, signal: abort.signal });
    if (res.status !== 200 || !res.body) {
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body, headers: res.headers };
    }
    return new SseProbe(url, res.status, res.headers, res.body, abort, opts.origin);
  }

  get isEnded(): boolean {
    return this.endedFlag;
  }

  /** The next event matching `pred` (consumed). */
  nextEvent(pred: (e: SseEvent) => boolean, timeoutMs = 5000, what = 'event'): Promise<SseEvent> {
    const i = this.pending.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.pending.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (e: SseEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; got: ${this.events.map((e) => e.event).join(',')}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The next envelope of `type` matching `pred` (consumed), with its SSE event. */
  async next(type: string, pred: (m: Envelope) => boolean = () => true, timeoutMs = 5000): Promise<Envelope & { event: SseEvent }> {
    const e = await this.nextEvent((ev) => ev.event === type && pred(JSON.parse(ev.data) as Envelope), timeoutMs, type);
    return Object.assign(JSON.parse(e.data) as Envelope, { event: e });
  }

  /** Envelopes of a type received so far (consumed or not). */
  all(type: string): Envelope[] {
    return this.received.filter((m) => m.type === type);
  }

  /** POSTs a client message for this stream (its `connection` event must have arrived). */
  async post(body: unknown, opts: { token?: string; contentType?: string; connectionId?: string } = {}): Promise<{ status: number; body: any }> {
    const conn = this.all('connection')[0]?.data;
    const id = opts.connectionId ?? conn?.connection_id;
    const token = opts.token ?? conn?.sse_token;
    const base = this.url.replace(/\?.*$/, '').replace(/\/$/, '');
    const res = await fetch(`${base}/${encodeURIComponent(id)}/messages`, {
      method: 'POST',
      headers: {
        'content-type': opts.contentType ?? 'text/plain;charset=UTF-8',
        ...(token === undefined ? {} : { 'x-sse-token': token }),
        ...(this.origin ? { origin: this.origin } : {}),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  close(): Promise<void> {
    this.abort.abort();
    return this.ended;
  }

  private onEvent(e: SseEvent): void {
    this.events.push(e);
    try {
      this.received.push(JSON.parse(e.data) as Envelope);
    } catch {
      // not an envelope
    }
    const i = this.waiters.findIndex((w) => w.pred(e));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w.resolve(e);
      return;
    }
    this.pending.push(e);
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        this.raw += text;
        this.parser.feed(text);
      }
    } catch {
      // aborted, or the connection dropped
    } finally {
      this.endedFlag = true;
    }
  }
}

/** The client's EventSource in Node: fetch with headers (cookie, Origin), one attempt, `error` when it ends. */
class FetchEventSource implements EventSourceLike {
  readyState = 0;
  onopen: ((ev: never) => unknown) | null = null;
  private readonly listeners = new Map<string, ((ev: never) => unknown)[]>();
  private readonly abort = new AbortController();

  constructor(url: string, headers: Record<string, string>) {
    void this.run(url, headers);
  }

  addEventListener(type: string, listener: (ev: never) => unknown): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  close(): void {
    this.readyState = 2;
    this.abort.abort();
  }

  private emit(type: string, ev: object): void {
    for (const l of this.listeners.get(type) ?? []) (l as (e: object) => unknown)(ev);
  }

  private fail(): void {
    if (this.readyState === 2) return;
    this.readyState = 2;
    this.emit('error', { type: 'error' });
  }

  private async run(url: string, headers: Record<string, string>): Promise<void> {
    try {
      const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: this.abort.signal });
      if (res.status !== 200 || !res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
        await res.body?.cancel();
        this.fail();
        return;
      }
      if (this.readyState === 2) return;
      this.readyState = 1;
      (this.onopen as ((ev: object) => unknown) | null)?.({ type: 'open' });
      const parser = new SseParser((e) => {
        if (this.readyState !== 2) this.emit(e.event, { type: e.event, data: e.data, lastEventId: e.lastEventId });
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // aborted or dropped
    }
    this.fail();
  }
}

/** An EventSource factory for the typed client in Node, sending `headers` (cookie, Origin) like a browser would. */
export function fetchEventSource(headers: Record<string, string> = {}, opened?: string[]): EventSourceFactory {
  return (url) => {
    opened?.push(url);
    return new FetchEventSource(url, headers);
  };
}
