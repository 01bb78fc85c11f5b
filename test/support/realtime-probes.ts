import { io, Socket } from 'socket.io-client';
import WebSocket from 'ws';

/** One server message as received (raw WebSocket frame or Socket.IO event payload). */
export interface Envelope {
  type: string;
  data: any;
  timestamp: string;
  id?: string | number;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

const DEFAULT_WAIT_MS = 5000;

/** Collects envelopes and lets a test wait for the next one matching a predicate (bounded in time). */
class Inbox {
  readonly received: Envelope[] = [];
  private readonly pending: Envelope[] = [];
  private waiters: { pred: (m: Envelope) => boolean; resolve: (m: Envelope) => void }[] = [];

  push(m: Envelope): void {
    this.received.push(m);
    const i = this.waiters.findIndex((w) => w.pred(m));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w.resolve(m);
      return;
    }
    this.pending.push(m);
  }

  /** The next unconsumed message matching `pred` (consumes it and nothing else). */
  take(pred: (m: Envelope) => boolean, timeoutMs = DEFAULT_WAIT_MS, what = 'message'): Promise<Envelope> {
    const i = this.pending.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.pending.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (m: Envelope) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; got: ${this.received.map((m) => m.type).join(',')}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Unconsumed messages of a type (consumes them). */
  drain(type?: string): Envelope[] {
    const out: Envelope[] = [];
    for (let i = 0; i < this.pending.length;) {
      if (type === undefined || this.pending[i].type === type) out.push(...this.pending.splice(i, 1));
      else i++;
    }
    return out;
  }
}

export interface ProbeOptions {
  cookie?: string;
  origin?: string;
  /** Raw WebSocket only: query string appended to the URL, e.g. `batch=50ms`. */
  query?: string;
}

/** What every transport probe offers, so scenarios run unchanged on both. */
export interface Probe {
  readonly kind: 'websocket' | 'socketio';
  readonly inbox: Inbox;
  readonly closed: Promise<CloseInfo>;
  /** Sends `{type, data, id?}` (Socket.IO: event `type` with payload `data`, or the envelope with an id). */
  send(type: string, data?: unknown, id?: string | number): void;
  /** Waits for the next message of `type` (optionally matching `pred`). */
  next(type: string, pred?: (m: Envelope) => boolean, timeoutMs?: number): Promise<Envelope>;
  close(): Promise<void>;
  /** Kills the TCP connection without a close handshake (abrupt client death). */
  destroy(): void;
}

export class WsProbe implements Probe {
  /** The `ws` client class, for hand-made handshakes. */
  static readonly Socket = WebSocket;
  readonly kind = 'websocket' as const;
  readonly inbox = new Inbox();
  readonly closed: Promise<CloseInfo>;
  readonly raw: string[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      this.raw.push(text);
      try {
        this.inbox.push(JSON.parse(text));
      } catch {
        this.inbox.push({ type: '__unparseable__', data: text, timestamp: '' });
      }
    });
    ws.on('error', () => undefined);
  }

  static open(baseWsUrl: string, opts: ProbeOptions & { path?: string; wsOptions?: WebSocket.ClientOptions } = {}): Promise<WsProbe> {
    const url = `${baseWsUrl}${opts.path ?? '/ws/realtime/'}${opts.query ? `?${opts.query}` : ''}`;
    const headers: Record<string, string> = {};
    if (opts.cookie) headers.cookie = opts.cookie;
    const ws = new WebSocket(url, { headers, origin: opts.origin, perMessageDeflate: false, ...opts.wsOptions });
    const probe = new WsProbe(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(probe));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(type: string, data?: unknown, id?: string | number): void {
    this.ws.send(JSON.stringify(id === undefined ? { type, data } : { type, data, id }));
  }

  sendRaw(payload: string | Buffer, binary = false): void {
    this.ws.send(payload, { binary });
  }

  next(type: string, pred: (m: Envelope) => boolean = () => true, timeoutMs?: number): Promise<Envelope> {
    return this.inbox.take((m) => m.type === type && pred(m), timeoutMs, type);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000))]);
  }

  destroy(): void {
    (this.ws as unknown as { _socket: import('node:net').Socket })._socket.destroy();
  }

  /** Stops reading from the TCP socket (a stalled consumer). */
  pause(): void {
    (this.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
  }

  resume(): void {
    (this.ws as unknown as { _socket: import('node:net').Socket })._socket.resume();
  }
}

export class IoProbe implements Probe {
  readonly kind = 'socketio' as const;
  readonly inbox = new Inbox();
  readonly closed: Promise<CloseInfo>;
  /** Event name of every received event, in order (the payload's type must equal it). */
  readonly events: string[] = [];

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) => socket.once('disconnect', (reason) => resolve({ code: 0, reason })));
    socket.onAny((event: string, payload: Envelope) => {
      this.events.push(event);
      this.inbox.push(payload && typeof payload === 'object' ? payload : { type: `__bad__${event}`, data: payload, timestamp: '' });
    });
  }

  static open(baseHttpUrl: string, opts: ProbeOptions & { transports?: ('websocket' | 'polling')[]; headers?: Record<string, string> } = {}): Promise<IoProbe> {
    const extraHeaders: Record<string, string> = { ...opts.headers };
    if (opts.cookie) extraHeaders.cookie = opts.cookie;
    if (opts.origin) extraHeaders.origin = opts.origin;
    const socket = io(`${baseHttpUrl}/realtime`, {
      path: '/socket.io',
      transports: opts.transports ?? ['websocket'],
      extraHeaders,
      reconnection: false,
      forceNew: true,
      timeout: 5000,
    });
    const probe = new IoProbe(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(probe));
      socket.once('connect_error', (err: Error & { data?: unknown }) => {
        socket.close();
        reject(err);
      });
    });
  }

  send(type: string, data?: unknown, id?: string | number): void {
    if (id === undefined) this.socket.emit(type, data);
    else this.socket.emit(type, { type, data, id });
  }

  /** Emits with an acknowledgement callback and resolves with the ack payload. */
  request(type: string, data?: unknown, timeoutMs = DEFAULT_WAIT_MS): Promise<any> {
    return this.socket.timeout(timeoutMs).emitWithAck(type, data);
  }

  next(type: string, pred: (m: Envelope) => boolean = () => true, timeoutMs?: number): Promise<Envelope> {
    return this.inbox.take((m) => m.type === type && pred(m), timeoutMs, type);
  }

  async close(): Promise<void> {
    if (this.socket.disconnected) return;
    this.socket.disconnect();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000))]);
  }

  /** The TCP socket under the current WebSocket transport. */
  netSocket(): import('node:net').Socket {
    const engine = this.socket.io.engine as unknown as { transport: { ws?: { _socket?: import('node:net').Socket } } };
    const s = engine.transport.ws?._socket;
    if (!s) throw new Error('Socket.IO is not on the websocket transport');
    return s;
  }

  destroy(): void {
    this.netSocket().destroy();
  }
}

/** Opens a probe of either transport against a started test app. */
export function openProbe(kind: 'websocket' | 'socketio', t: { url: string; wsUrl: string }, opts: ProbeOptions = {}): Promise<Probe> {
  return kind === 'websocket' ? WsProbe.open(t.wsUrl, opts) : IoProbe.open(t.url, opts);
}
