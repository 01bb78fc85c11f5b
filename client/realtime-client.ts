import { SYMBOL_PATTERN } from '../src/realtime/protocol/symbol';
import { backoffDelay, resolveBackoff, type BackoffOptions } from './backoff';
import type {
  AssetUpdateData,
  ClientMessageMap,
  ClientMessageType,
  ConnectionData,
  ConnectionOptions,
  OptionsData,
  PongData,
  PortfolioSeriesRange,
  PortfolioUpdateData,
  ServerMessage,
  ServerMessageMap,
  ServerMessageType,
} from './protocol';
import { socketIoTransport } from './socketio.transport';
import { sseTransport, type EventSourceFactory, type FetchLike, type SseSelection } from './sse.transport';
import type { Transport, TransportCloseInfo, TransportFactory, TransportKind } from './transport';
import { webSocketTransport, type WebSocketFactory } from './websocket.transport';

/**
 * - `connecting`: first attempt after connect()
 * - `connected`: the server's `connection` message arrived; subscriptions are (re)sent
 * - `reconnecting`: the connection dropped; waiting `retryInMs` or attempting again
 * - `offline`: not connected and not trying (before connect(), after disconnect(),
 *   after `maxAttempts` failures, or while the browser reports no network)
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface StateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** Failed attempts in a row so far (0 once connected). */
  attempt: number;
  /** With `reconnecting`: delay before the next attempt (ms). */
  retryInMs?: number;
  /** Why the last connection ended, when it did. */
  reason?: string;
  /** With `connected`: the server's `connection` data. */
  connection?: ConnectionData;
}

/** Every frame in and out, for logs and the test page. */
export interface Frame {
  direction: 'in' | 'out';
  /** Envelope type, `?` if the frame was not a JSON envelope. */
  type: string;
  /** The frame text exactly as sent or received. */
  text: string;
  envelope?: unknown;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface RealtimeClientOptions {
  /**
   * `websocket` (raw, `/ws/realtime/`), `socketio` (namespace `/realtime`) or `sse` (Server-Sent
   * Events at `/realtime/sse` plus POSTed messages, for networks that refuse WebSocket). Default `websocket`.
   */
  transport?: TransportKind;
  /**
   * Falls back to `sse` when the WebSocket (or Socket.IO) transport failed this many attempts in a
   * row (`true`: 3), and stays on it. Default: no fallback.
   */
  sseFallback?: boolean | number;
  /** SSE stream path (default `/realtime/sse`). */
  ssePath?: string;
  /** How to open an EventSource (default: the global EventSource). In Node: a factory that sends the cookie and Origin. */
  createEventSource?: EventSourceFactory;
  /** How SSE POSTs its messages (default: the global fetch). */
  fetch?: FetchLike;
  /** The server's HTTP base URL, e.g. `http://localhost:8000`. Default: the page's origin in a browser. */
  baseUrl?: string;
  /** Raw WebSocket path (default `/ws/realtime/`). */
  wsPath?: string;
  /** Socket.IO namespace (default `/realtime`) and Engine.IO path (default `/socket.io`). */
  socketIoNamespace?: string;
  socketIoPath?: string;
  /** Socket.IO handshake headers in Node (e.g. the session cookie), and SSE POST headers. For raw WebSocket in Node use `createWebSocket`. */
  headers?: Record<string, string>;
  /** How to open a raw WebSocket (default: the global WebSocket). In Node < 22: `(url) => new WebSocket(url, {headers})` from `ws`. */
  createWebSocket?: WebSocketFactory;
  /** Replace the transport entirely (tests). */
  transportFactory?: TransportFactory;
  /** Reconnect policy, or `false` for none. */
  reconnect?: Partial<BackoffOptions> | false;
  /** How long a request (ping, subscribe, ...) waits for its reply (ms, default 10 s). */
  requestTimeoutMs?: number;
  /** How long an attempt may take to reach `connected` before it is abandoned and retried (ms, default 10 s). */
  connectTimeoutMs?: number;
  /** If > 0, an application-level ping every this many ms while connected; no pong in time forces a reconnect. */
  keepAliveMs?: number;
  /** Random source for jitter, [0, 1) (tests pass their own). */
  random?: () => number;
  /** Where exceptions thrown by your listeners go (default: reportError in browsers, else console.error). */
  onListenerError?: (err: unknown) => void;
}

/** A server `error` reply (codes from the protocol) or a client-side failure (NOT_CONNECTED, TIMEOUT, DISCONNECTED). */
export class RealtimeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RealtimeError';
  }
}

type Listener<T extends unknown[]> = (...args: T) => void;

class Listeners<T extends unknown[]> {
  private readonly set = new Set<Listener<T>>();
  constructor(private readonly onError: (err: unknown) => void) {}
  add(fn: Listener<T>): () => void {
    this.set.add(fn);
    return () => this.set.delete(fn);
  }
  emit(...args: T): void {
    for (const fn of [...this.set]) {
      try {
        fn(...args);
      } catch (err) {
        // A faulty listener must not break the connection or the other listeners.
        this.onError(err);
      }
    }
  }
  clear(): void {
    this.set.clear();
  }
}

interface Pending {
  type: string;
  resolve: (env: ServerMessage) => void;
  reject: (err: RealtimeError) => void;
  timer: ReturnType<typeof setTimeout>;
}

const SYMBOL_RE = SYMBOL_PATTERN;

/** Trims and upper-cases a symbol; throws RealtimeError(VALIDATION_FAILED) if it cannot be one. */
export function normaliseSymbol(symbol: string): string {
  const s = String(symbol).trim().toUpperCase();
  if (!SYMBOL_RE.test(s)) throw new RealtimeError('VALIDATION_FAILED', `Invalid symbol: ${JSON.stringify(symbol)}`);
  return s;
}

interface BrowserGlobals {
  location?: { origin?: string };
  navigator?: { onLine?: boolean };
  addEventListener?: (type: string, fn: () => void) => void;
  removeEventListener?: (type: string, fn: () => void) => void;
  performance?: { now(): number };
}
const g = globalThis as unknown as BrowserGlobals;

function defaultListenerError(err: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (report) report(err);
  else (globalThis as { console?: { error(...a: unknown[]): void } }).console?.error('RealtimeClient listener failed:', err);
}
const now = () => (g.performance ? g.performance.now() : Date.now());

/**
 * The project's realtime client: one API over raw WebSocket and Socket.IO,
 * typed from the protocol's server-message map. It remembers what you
 * subscribed to and, after any drop, reconnects with exponential backoff and
 * jitter and subscribes everything again, resuming each symbol from the last update
 * it passed on (`since`): the server replays what was missed, in order, or sends a
 * fresh snapshot when it cannot (`subscribed.recovered[symbol] === false`: refetch
 * anything you derived). Listeners never get a repeated update or an older price.
 * A pong whose `last_seq` is ahead of what arrived resumes the symbols concerned.
 *
 * ```ts
 * const client = new RealtimeClient({ baseUrl: 'http://localhost:8000' });
 * client.on('asset_update', (u) => console.log(u.symbol, u.price));
 * client.onState((s) => console.log(s.state));
 * client.connect();
 * await client.subscribeAssets(['AAPL', 'MSFT']);
 * ```
 */
export class RealtimeClient {
  readonly transportKind: TransportKind;
  private factory: TransportFactory;
  /** The transport in use: `transportKind`, or `sse` after a fallback (see `sseFallback`). */
  private activeKind: TransportKind;
  /** The factory of the configured transport (the fallback returns to it when a fallback SSE stream ends). */
  private readonly configuredFactory: TransportFactory;
  /** With `sseFallback`: failed attempts in a row after which the client moves to SSE, and how it opens SSE. */
  private readonly fallbackAfter: number;
  private readonly sseFallbackFactory?: TransportFactory;
  /** SSE: the topics the current attempt put in its URL (subscribed by the stream itself, not sent again on connect). */
  private sseInUrl: { assets: Set<string>; portfolios: Set<number> } | null = null;
  /** SSE: the last attempt failed before it connected (a topic in the URL may be refused): the next one subscribes by message. */
  private sseBare = false;
  private readonly backoff: BackoffOptions | false;
  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly keepAliveMs: number;
  private readonly random: () => number;

  private transport?: Transport;
  private generation = 0;
  private wanted = false;
  private attempt = 0;
  private currentState: ConnectionState = 'offline';
  private info: ConnectionData | null = null;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private connectTimer?: ReturnType<typeof setTimeout>;
  private keepAliveTimer?: ReturnType<typeof setInterval>;
  private waitingForNetwork = false;
  /** Closed by the server as idle (IDLE_TIMEOUT) with nothing to subscribe: reconnects when something is. */
  private dormant = false;
  private requestSeq = 0;
  private readonly idPrefix = `c${Math.floor(Math.random() * 1e6).toString(36)}-`;
  private readonly pending = new Map<string, Pending>();
  private readonly assets = new Set<string>();
  private readonly portfolios = new Set<number>();
  /** The intraday series asked for per portfolio (`series` of subscribe_portfolio): asked again after every reconnect. */
  private readonly portfolioSeries = new Map<number, PortfolioSeriesRange>();
  /** The newest update shown per symbol (seq and as_of): a resume starts there, and nothing older or repeated is passed on. */
  private readonly lastAsset = new Map<string, { seq: number; asOf: string }>();
  /** The seq of the last portfolio_update passed on per portfolio, within the current connection (portfolio seqs are per server instance). */
  private readonly lastPortfolio = new Map<number, number>();
  /** Delivery options set with setOptions(): sent again, before the subscriptions, after every (re)connect. */
  private options: ConnectionOptions = {};

  private readonly listenerError: (err: unknown) => void;
  private readonly typed = new Map<string, Listeners<[unknown, ServerMessage]>>();
  private readonly anyListeners: Listeners<[ServerMessage]>;
  private readonly stateListeners: Listeners<[StateChange]>;
  private readonly frameListeners: Listeners<[Frame]>;

  private readonly onOnline = () => {
    if (this.wanted && this.waitingForNetwork) {
      this.waitingForNetwork = false;
      this.open('reconnecting');
    }
  };

  constructor(options: RealtimeClientOptions = {}) {
    this.transportKind = options.transport ?? 'websocket';
    this.backoff = options.reconnect === false ? false : resolveBackoff(options.reconnect);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.keepAliveMs = options.keepAliveMs ?? 0;
    this.random = options.random ?? Math.random;
    this.listenerError = options.onListenerError ?? defaultListenerError;
    this.anyListeners = new Listeners(this.listenerError);
    this.stateListeners = new Listeners(this.listenerError);
    this.frameListeners = new Listeners(this.listenerError);
    const selection = () => this.sseSelection();
    this.factory = options.transportFactory ?? RealtimeClient.defaultFactory(this.transportKind, options, selection);
    this.configuredFactory = this.factory;
    this.activeKind = this.transportKind;
    const after = options.sseFallback === true ? 3 : typeof options.sseFallback === 'number' ? options.sseFallback : 0;
    this.fallbackAfter = this.transportKind === 'sse' ? 0 : after;
    if (this.fallbackAfter > 0) this.sseFallbackFactory = RealtimeClient.defaultFactory('sse', options, selection);
  }

  private static defaultFactory(kind: TransportKind, o: RealtimeClientOptions, selection: () => SseSelection): TransportFactory {
    const base = (o.baseUrl ?? g.location?.origin ?? '').replace(/\/+$/, '');
    if (!base) throw new Error('RealtimeClient needs `baseUrl` outside a browser page');
    if (kind === 'sse') {
      return sseTransport(base + (o.ssePath ?? '/realtime/sse'), { createEventSource: o.createEventSource, fetch: o.fetch, headers: o.headers, selection });
    }
    if (kind === 'socketio') {
      return socketIoTransport(base + (o.socketIoNamespace ?? '/realtime'), { headers: o.headers, path: o.socketIoPath, timeoutMs: o.connectTimeoutMs });
    }
    const wsBase = base.replace(/^http/i, 'ws');
    return webSocketTransport(wsBase + (o.wsPath ?? '/ws/realtime/'), o.createWebSocket);
  }

  // ---------------------------------------------------------------- state

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The transport in use: the configured one, or `sse` once the client fell back to it (`sseFallback`). */
  get activeTransport(): TransportKind {
    return this.activeKind;
  }

  /** The server's `connection` data of the current connection (null when not connected). */
  get connection(): ConnectionData | null {
    return this.currentState === 'connected' ? this.info : null;
  }

  /** What this client keeps subscribed across reconnects. */
  get subscriptions(): { assets: string[]; portfolios: number[] } {
    return { assets: [...this.assets], portfolios: [...this.portfolios] };
  }

  // ---------------------------------------------------------------- events

  /** Typed handler for one server message type; returns a function that removes it. */
  on<K extends ServerMessageType>(type: K, handler: (data: ServerMessageMap[K], envelope: ServerMessage<K>) => void): () => void {
    let set = this.typed.get(type);
    if (!set) {
      set = new Listeners(this.listenerError);
      this.typed.set(type, set);
    }
    return set.add(handler as unknown as Listener<[unknown, ServerMessage]>);
  }

  /** Every server envelope, whatever its type. */
  onAny(handler: (envelope: ServerMessage) => void): () => void {
    return this.anyListeners.add(handler);
  }

  /** Connection state changes (connecting, connected, reconnecting, offline). */
  onState(handler: (change: StateChange) => void): () => void {
    return this.stateListeners.add(handler);
  }

  /** Every frame in and out, with timestamps. */
  onFrame(handler: (frame: Frame) => void): () => void {
    return this.frameListeners.add(handler);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts connecting (and keeps reconnecting until disconnect()). */
  connect(): void {
    if (this.dormant) {
      this.wake();
      return;
    }
    if (this.wanted) return;
    this.wanted = true;
    this.attempt = 0;
    g.addEventListener?.('online', this.onOnline);
    this.open('connecting');
  }

  /** Closes the connection and stops reconnecting. Subscriptions are remembered for the next connect(). */
  disconnect(reason = 'client closed'): void {
    this.wanted = false;
    this.waitingForNetwork = false;
    this.dormant = false;
    g.removeEventListener?.('online', this.onOnline);
    this.clearTimers();
    const t = this.transport;
    this.detach(new RealtimeError('DISCONNECTED', reason));
    t?.close(1000, reason);
    this.setState('offline', { reason });
  }

  /** Drops the current connection and connects again at once (e.g. after login or logout, so the handshake carries the new session). */
  reconnectNow(reason = 'reconnect requested'): void {
    if (!this.wanted || this.dormant) {
      this.connect();
      return;
    }
    const t = this.transport;
    this.clearTimers();
    this.detach(new RealtimeError('DISCONNECTED', reason));
    t?.close(1000, reason);
    this.attempt = 0;
    this.open('reconnecting', reason);
  }

  /** disconnect() and drop every listener. */
  dispose(): void {
    this.disconnect('disposed');
    this.typed.clear();
    this.anyListeners.clear();
    this.stateListeners.clear();
    this.frameListeners.clear();
  }

  private open(state: 'connecting' | 'reconnecting', reason?: string): void {
    if (this.sseFallbackFactory && this.activeKind !== 'sse' && this.attempt >= this.fallbackAfter) {
      // WebSocket failed `sseFallback` times in a row (a proxy that refuses upgrades, say): Server-Sent Events from now on.
      this.activeKind = 'sse';
      this.factory = this.sseFallbackFactory;
    }
    const gen = ++this.generation;
    this.info = null;
    this.setState(state, { reason });
    this.connectTimer = setTimeout(() => {
      if (gen !== this.generation) return;
      const t = this.transport;
      this.detach(new RealtimeError('TIMEOUT', 'connection attempt timed out'));
      t?.close(4000, 'connect timeout');
      this.scheduleReconnect('connect timeout');
    }, this.connectTimeoutMs);
    this.transport = this.factory({
      open: () => undefined,
      message: (envelope, raw) => {
        if (gen === this.generation) this.handleMessage(envelope, raw);
      },
      close: (info) => {
        if (gen === this.generation) this.handleClose(info);
      },
    });
  }

  /** Forgets the current transport: its late events are ignored and its requests fail. */
  private detach(err: RealtimeError): void {
    this.generation++;
    this.transport = undefined;
    this.info = null;
    clearTimeout(this.connectTimer);
    clearInterval(this.keepAliveTimer);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
  }

  private handleClose(info: TransportCloseInfo): void {
    // An SSE attempt refused before it connected (a topic of its URL unknown, deleted, or not allowed any more):
    // the next one alternates with a bare stream, whose subscribes by message forget what the server refuses.
    if (this.activeKind === 'sse' && this.info === null) this.sseBare = !this.sseBare;
    // A fallback SSE stream that had connected ends: the next attempts try the configured transport again (the
    // WebSocket failures that led here may have been a server outage, not a proxy); it falls back again if needed.
    const backToConfigured = this.activeKind === 'sse' && this.transportKind !== 'sse' && this.info !== null;
    this.detach(new RealtimeError('DISCONNECTED', `connection closed: ${info.reason}`));
    if (backToConfigured) {
      this.activeKind = this.transportKind;
      this.factory = this.configuredFactory;
    }
    if (this.wanted && info.reason.startsWith('IDLE_TIMEOUT') && this.assets.size === 0 && this.portfolios.size === 0) {
      // The server closes connections that neither subscribe nor send anything (WS_IDLE_TIMEOUT):
      // reconnecting now would only be closed again. The next subscribe*() or connect() reconnects.
      this.dormant = true;
      this.setState('offline', { reason: info.reason });
      return;
    }
    if (this.wanted) this.scheduleReconnect(info.reason);
    else this.setState('offline', { reason: info.reason });
  }

  /** Leaves the dormant state (see handleClose): connects again, and sends what is remembered on connect. */
  private wake(): void {
    this.dormant = false;
    this.attempt = 0;
    this.open('connecting');
  }

  private scheduleReconnect(reason: string): void {
    clearTimeout(this.retryTimer);
    if (this.backoff === false || this.attempt >= this.backoff.maxAttempts) {
      this.wanted = false;
      g.removeEventListener?.('online', this.onOnline);
      this.setState('offline', { reason: this.backoff === false ? reason : `gave up after ${this.attempt} attempts: ${reason}` });
      return;
    }
    if (g.navigator?.onLine === false && g.addEventListener) {
      // No network: wait for the browser's `online` event instead of burning attempts.
      this.waitingForNetwork = true;
      this.setState('offline', { reason: 'no network' });
      return;
    }
    const delay = backoffDelay(this.attempt, this.backoff, this.random);
    this.attempt++;
    this.setState('reconnecting', { reason, retryInMs: delay });
    this.retryTimer = setTimeout(() => {
      if (this.wanted) this.open('reconnecting', reason);
    }, delay);
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    clearInterval(this.keepAliveTimer);
  }

  private setState(state: ConnectionState, extra: Partial<StateChange> = {}): void {
    const previous = this.currentState;
    this.currentState = state;
    this.stateListeners.emit({ state, previous, attempt: this.attempt, ...extra });
  }

  // ---------------------------------------------------------------- inbound

  private handleMessage(envelope: unknown, raw: string): void {
    const env = isEnvelope(envelope) ? envelope : undefined;
    this.frameListeners.emit({ direction: 'in', type: env ? env.type : '?', text: raw, envelope, at: Date.now() });
    if (!env) return;
    if (env.type === 'connection') this.handleConnected(env.data as ConnectionData);
    const id = replyId(env);
    if (id !== undefined) {
      const p = this.pending.get(id);
      if (p) {
        this.pending.delete(id);
        clearTimeout(p.timer);
        if (env.type === 'error') {
          const d = env.data as { code?: string; message?: string };
          p.reject(new RealtimeError(d.code ?? 'INTERNAL', d.message ?? 'error', env.data));
        } else {
          p.resolve(env);
        }
      }
    }
    if (env.type === 'asset_update' && !this.isNewAsset(env.data as AssetUpdateData)) return;
    if (env.type === 'portfolio_update' && !this.isNewPortfolio(env.data as PortfolioUpdateData)) return;
    if (env.type === 'subscribed') this.noteRecovery(env.data as { recovered?: { assets?: Record<string, boolean> } });
    if (env.type === 'pong') this.checkLastSeqs((env.data as Partial<PongData>).last_seq);
    this.typed.get(env.type)?.emit(env.data, env);
    if (env.type === 'asset_updates') {
      // Batched frames (opt-in via set_options) reach asset_update handlers one update at a time too.
      const single = this.typed.get('asset_update');
      const updates = (env.data as { updates?: unknown }).updates;
      if (Array.isArray(updates)) {
        for (const u of updates) {
          if (!this.isNewAsset(u as AssetUpdateData)) continue;
          single?.emit(u, { type: 'asset_update', data: u, timestamp: env.timestamp } as ServerMessage);
        }
      }
    }
    this.anyListeners.emit(env);
  }

  /**
   * Whether an asset update is newer than the last one passed on for its symbol (and records it):
   * a replayed update already seen, or an older price, is dropped, so listeners never see a
   * duplicate or a price going backwards after a reconnect.
   */
  private isNewAsset(u: AssetUpdateData | undefined): boolean {
    if (!u || typeof u.symbol !== 'string' || typeof u.seq !== 'number') return true;
    const last = this.lastAsset.get(u.symbol);
    if (last && u.seq <= last.seq && u.as_of <= last.asOf) return false;
    if (last && u.as_of < last.asOf) return false;
    this.lastAsset.set(u.symbol, { seq: u.seq, asOf: u.as_of });
    return true;
  }

  private isNewPortfolio(u: PortfolioUpdateData | undefined): boolean {
    if (!u || typeof u.portfolio_id !== 'number' || typeof u.seq !== 'number') return true;
    const last = this.lastPortfolio.get(u.portfolio_id);
    // A resume's snapshot replaces whatever came before it; otherwise seqs only go up within a connection.
    if (!u.snapshot && last !== undefined && u.seq <= last) return false;
    this.lastPortfolio.set(u.portfolio_id, u.seq);
    return true;
  }

  /** `subscribed` of a resume: a symbol not recovered gets a fresh snapshot next, whatever its seq (the server may have been reset). */
  private noteRecovery(data: { recovered?: { assets?: Record<string, boolean> } } | undefined): void {
    const assets = data?.recovered?.assets;
    if (!assets || typeof assets !== 'object') return;
    for (const [symbol, ok] of Object.entries(assets)) {
      if (ok === false) this.lastAsset.delete(symbol);
    }
  }

  /** A pong listing a newer seq than the last update seen for a symbol: something went missing, resume it. */
  private checkLastSeqs(lastSeq: PongData['last_seq'] | undefined): void {
    const assets = lastSeq?.assets;
    if (!assets || typeof assets !== 'object' || this.currentState !== 'connected') return;
    const since: Record<string, number> = {};
    for (const [symbol, seq] of Object.entries(assets)) {
      const seen = this.lastAsset.get(symbol);
      if (seen && typeof seq === 'number' && seq > seen.seq && this.assets.has(symbol)) since[symbol] = seen.seq;
    }
    const symbols = Object.keys(since);
    if (symbols.length > 0) this.request('subscribe_asset', { symbols, since }).catch(() => undefined);
  }

  private handleConnected(data: ConnectionData): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    this.info = data;
    this.sseBare = false;
    this.setState('connected', { connection: data });
    if (this.keepAliveMs > 0) {
      const gen = this.generation;
      this.keepAliveTimer = setInterval(() => {
        this.ping().catch((err: unknown) => {
          if (gen === this.generation && err instanceof RealtimeError && err.code === 'TIMEOUT') {
            const t = this.transport;
            this.detach(new RealtimeError('DISCONNECTED', 'keep-alive timeout'));
            t?.close(4000, 'keep-alive timeout');
            this.scheduleReconnect('keep-alive timeout');
          }
        });
      }, this.keepAliveMs);
    }
    this.resubscribe();
  }

  /** Sends the remembered options, then every remembered subscription again (after each (re)connect). */
  private resubscribe(): void {
    if (Object.keys(this.options).length > 0) {
      // Before the subscribes (the server handles a connection's messages in order): their snapshots follow the options.
      this.request('set_options', { ...this.options }).catch(() => undefined);
    }
    // Over SSE, the topics in the stream's URL are subscribed (and resumed) by the stream itself.
    const inUrl = this.transport?.kind === 'sse' ? this.sseInUrl : null;
    const assets = [...this.assets].filter((s) => !inUrl?.assets.has(s));
    if (assets.length > 0) {
      // Failures reach on('error') listeners; refused symbols are forgotten by sendAssetSubscription.
      // Each symbol resumes from the last update seen (the server replays what was missed, or says it cannot).
      this.sendAssetSubscription(assets, true).catch(() => undefined);
    }
    // Portfolio seqs are numbered by each server instance: the resume's fresh update (snapshot: true) starts them again.
    const resumed = new Map(this.lastPortfolio);
    this.lastPortfolio.clear();
    for (const id of this.portfolios) {
      const series = this.portfolioSeries.get(id);
      // One in the stream's URL is subscribed already; asked again only for its series (the series follows, then its points).
      if (inUrl?.portfolios.has(id) && series === undefined) continue;
      const since = resumed.get(id);
      this.request('subscribe_portfolio', {
        portfolio_id: id,
        ...(since === undefined ? {} : { since_seq: since }),
        ...(series === undefined ? {} : { series }),
      }).catch((err: unknown) => {
        // A portfolio the server refuses for good (not found, not logged in any more) is not retried.
        if (err instanceof RealtimeError && (err.code === 'NOT_FOUND' || err.code === 'AUTH_REQUIRED')) this.forgetPortfolio(id);
      });
    }
  }

  /**
   * Subscribes `list` in one message. The server refuses a whole batch when
   * one symbol is unknown; then the unknown ones are found (named in the error,
   * or by halving the batch: a few messages, not one per symbol), forgotten,
   * the rest subscribed, and UNKNOWN_SYMBOL is thrown with `data.symbols`.
   */
  private async sendAssetSubscription(list: string[], resume = false): Promise<ServerMessage> {
    try {
      return await this.request('subscribe_asset', resume ? this.resumeSelection(list) : list.length === 1 ? { symbol: list[0] } : { symbols: list });
    } catch (err) {
      if (!(err instanceof RealtimeError) || err.code !== 'UNKNOWN_SYMBOL') throw err;
      const unknown = list.length === 1 ? list : await this.findUnknown(list, err);
      for (const s of unknown) this.assets.delete(s);
      throw new RealtimeError('UNKNOWN_SYMBOL', `Unknown symbol${unknown.length === 1 ? '' : 's'}: ${unknown.join(', ')}`, {
        ...(err.data as object),
        symbols: unknown,
      });
    }
  }

  /**
   * What an SSE attempt puts in its URL: every remembered topic, and where each symbol stopped
   * (the stream's event id format, `SYMBOL:seq,...`, sent as `last_event_id`); nothing after an
   * attempt that was refused (see handleClose).
   */
  private sseSelection(): SseSelection {
    const assets = this.sseBare ? [] : [...this.assets];
    const portfolios = this.sseBare ? [] : [...this.portfolios];
    this.sseInUrl = { assets: new Set(assets), portfolios: new Set(portfolios) };
    const sel = assets.length > 0 ? this.resumeSelection(assets) : {};
    const since = sel.since ?? (sel.symbol !== undefined && sel.since_seq !== undefined ? { [sel.symbol]: sel.since_seq } : {});
    const cursor = Object.entries(since)
      .map(([s, seq]) => `${s}:${seq}`)
      .join(',');
    return cursor ? { assets, portfolios, lastEventId: cursor } : { assets, portfolios };
  }

  /** `subscribe_asset` data for `list`, with where each symbol stopped (the last seq seen) for those seen before. */
  private resumeSelection(list: string[]): ClientMessageMap['subscribe_asset'] {
    const since: Record<string, number> = {};
    for (const s of list) {
      const last = this.lastAsset.get(s);
      if (last) since[s] = last.seq;
    }
    if (Object.keys(since).length === 0) return list.length === 1 ? { symbol: list[0] } : { symbols: list };
    return list.length === 1 ? { symbol: list[0], since_seq: since[list[0]] } : { symbols: list, since };
  }

  private async findUnknown(list: string[], err: RealtimeError): Promise<string[]> {
    const named = rejectedSymbols(err.data).filter((s) => list.includes(s));
    if (named.length > 0) {
      const rest = list.filter((s) => !named.includes(s));
      return [...named, ...(rest.length > 0 ? await this.subscribeOrFindUnknown(rest) : [])];
    }
    const mid = Math.ceil(list.length / 2);
    return [...(await this.subscribeOrFindUnknown(list.slice(0, mid))), ...(await this.subscribeOrFindUnknown(list.slice(mid)))];
  }

  private async subscribeOrFindUnknown(list: string[]): Promise<string[]> {
    try {
      await this.request('subscribe_asset', list.length === 1 ? { symbol: list[0] } : { symbols: list });
      return [];
    } catch (err) {
      if (!(err instanceof RealtimeError) || err.code !== 'UNKNOWN_SYMBOL') throw err;
      return list.length === 1 ? list : this.findUnknown(list, err);
    }
  }

  // ---------------------------------------------------------------- outbound

  /**
   * Sends one message and resolves with its reply (matched by the echoed `id`),
   * or rejects with RealtimeError: the server's `error` code, NOT_CONNECTED, TIMEOUT or DISCONNECTED.
   */
  request<K extends ClientMessageType>(type: K, data: ClientMessageMap[K], timeoutMs = this.requestTimeoutMs): Promise<ServerMessage> {
    const transport = this.transport;
    if (!transport || this.currentState !== 'connected') {
      return Promise.reject(new RealtimeError('NOT_CONNECTED', `Cannot send ${type}: not connected`));
    }
    const id = `${this.idPrefix}${++this.requestSeq}`;
    return new Promise<ServerMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RealtimeError('TIMEOUT', `No reply to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { type, resolve, reject, timer });
      try {
        this.sendEnvelope({ type, data, id, timestamp: new Date().toISOString() }, transport);
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new RealtimeError('NOT_CONNECTED', (err as Error).message));
      }
    });
  }

  /** Sends one message without waiting for a reply. Throws RealtimeError(NOT_CONNECTED) when not connected. */
  send<K extends ClientMessageType>(type: K, data: ClientMessageMap[K], id?: string): void {
    if (!this.transport) throw new RealtimeError('NOT_CONNECTED', `Cannot send ${type}: not connected`);
    const envelope: Record<string, unknown> & { type: string } = { type, data, timestamp: new Date().toISOString() };
    if (id !== undefined) envelope.id = id;
    this.sendEnvelope(envelope, this.transport);
  }

  /** Sends text as typed (test page's envelope editor). See Transport.sendRaw for Socket.IO's rules. */
  sendRaw(text: string): void {
    if (!this.transport) throw new RealtimeError('NOT_CONNECTED', 'Cannot send: not connected');
    this.transport.sendRaw(text);
    let type = '?';
    let envelope: unknown;
    try {
      envelope = JSON.parse(text);
      if (isEnvelope(envelope)) type = envelope.type;
    } catch {
      envelope = undefined;
    }
    this.frameListeners.emit({ direction: 'out', type, text, envelope, at: Date.now() });
  }

  private sendEnvelope(envelope: { type: string } & Record<string, unknown>, transport: Transport): void {
    const text = transport.send(envelope);
    this.frameListeners.emit({ direction: 'out', type: envelope.type, text, envelope, at: Date.now() });
  }

  /** Round trip: sends `ping`, resolves with the `pong` and the round-trip time in ms. */
  async ping(timeoutMs = this.requestTimeoutMs): Promise<{ rttMs: number; pong: ServerMessage }> {
    const t0 = now();
    const pong = await this.request('ping', {}, timeoutMs);
    return { rttMs: now() - t0, pong };
  }

  /**
   * Adds symbols to the remembered set and, when connected, subscribes them now
   * (resolving with the `subscribed` reply; when not connected it resolves with
   * null and they are sent on connect; a client the server closed as idle
   * connects again for them). Unknown symbols are forgotten and the
   * promise rejects with UNKNOWN_SYMBOL naming them in `data.symbols` (the
   * known ones of the same call stay subscribed).
   */
  async subscribeAssets(symbols: string | string[]): Promise<ServerMessage | null> {
    const list = [...new Set((Array.isArray(symbols) ? symbols : [symbols]).map(normaliseSymbol))];
    if (list.length === 0) return null;
    for (const s of list) this.assets.add(s);
    if (this.dormant) this.wake();
    if (this.currentState !== 'connected') return null;
    return this.sendAssetSubscription(list);
  }

  /** Removes symbols from the remembered set and unsubscribes them when connected. */
  async unsubscribeAssets(symbols: string | string[]): Promise<ServerMessage | null> {
    const list = [...new Set((Array.isArray(symbols) ? symbols : [symbols]).map(normaliseSymbol))];
    if (list.length === 0) return null;
    for (const s of list) {
      this.assets.delete(s);
      this.lastAsset.delete(s);
    }
    if (this.currentState !== 'connected') return null;
    return this.request('unsubscribe_asset', list.length === 1 ? { symbol: list[0] } : { symbols: list });
  }

  /**
   * Remembers a portfolio subscription and subscribes now when connected (needs a logged-in session).
   * With `series: '1d'` the server also sends the portfolio's intraday value series (`portfolio_series`,
   * once, after `subscribed`) and then each new point (`portfolio_point`); after a reconnect the series
   * is sent again (replace yours). The latest call for a portfolio decides: one without `series` stops the points.
   */
  async subscribePortfolio(portfolioId: number, options: { series?: PortfolioSeriesRange } = {}): Promise<ServerMessage | null> {
    if (!Number.isSafeInteger(portfolioId) || portfolioId <= 0) throw new RealtimeError('VALIDATION_FAILED', `Invalid portfolio id: ${portfolioId}`);
    this.portfolios.add(portfolioId);
    if (options.series === undefined) this.portfolioSeries.delete(portfolioId);
    else this.portfolioSeries.set(portfolioId, options.series);
    if (this.dormant) this.wake();
    if (this.currentState !== 'connected') return null;
    try {
      return await this.request(
        'subscribe_portfolio',
        options.series === undefined ? { portfolio_id: portfolioId } : { portfolio_id: portfolioId, series: options.series },
      );
    } catch (err) {
      if (err instanceof RealtimeError && (err.code === 'NOT_FOUND' || err.code === 'AUTH_REQUIRED')) this.forgetPortfolio(portfolioId);
      throw err;
    }
  }

  private forgetPortfolio(portfolioId: number): void {
    this.portfolios.delete(portfolioId);
    this.portfolioSeries.delete(portfolioId);
  }

  async unsubscribePortfolio(portfolioId: number): Promise<ServerMessage | null> {
    this.forgetPortfolio(portfolioId);
    this.lastPortfolio.delete(portfolioId);
    if (this.currentState !== 'connected') return null;
    return this.request('unsubscribe_portfolio', { portfolio_id: portfolioId });
  }

  /** Forgets every portfolio subscription (e.g. on logout) and unsubscribes them when connected. */
  async clearPortfolios(): Promise<void> {
    const ids = [...this.portfolios];
    await Promise.allSettled(ids.map((id) => this.unsubscribePortfolio(id)));
  }

  /** The delivery options this client keeps across reconnects (what setOptions() was given, merged). */
  get deliveryOptions(): ConnectionOptions {
    return { ...this.options };
  }

  /**
   * Sets delivery options (merged with the ones set before; each left out stays) and keeps them
   * across reconnects: `batch_ms`, and for `portfolio_update`, `portfolio_min_change_bps`
   * (0..10000), `portfolio_max_interval` (0, or 1..3600 s) and `portfolio_positions`. When
   * connected, resolves with the server's `options` data (the options in effect); otherwise
   * with null, and they are sent on connect, before the subscriptions. A refused value
   * (VALIDATION_FAILED) is not remembered.
   *
   * With `portfolio_positions`, each `portfolio_update` carries `positions`: every position
   * when `positions_complete` is true (the first push after each (re)subscribe: replace the
   * table), else only the changed ones (update those rows).
   */
  async setOptions(options: ConnectionOptions): Promise<OptionsData | null> {
    const before = this.options;
    this.options = { ...before, ...options };
    if (this.currentState !== 'connected') return null;
    try {
      const reply = await this.request('set_options', options);
      return reply.data as OptionsData;
    } catch (err) {
      if (err instanceof RealtimeError && err.code === 'VALIDATION_FAILED') this.options = before;
      throw err;
    }
  }

  /** Asks the server what this connection is subscribed to. */
  listSubscriptions(): Promise<ServerMessage> {
    return this.request('list_subscriptions', {});
  }
}

function isEnvelope(v: unknown): v is ServerMessage {
  return !!v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { type?: unknown }).type === 'string';
}

function replyId(env: ServerMessage): string | undefined {
  const top = (env as { id?: unknown }).id;
  if (typeof top === 'string' || typeof top === 'number') return String(top);
  const inner = env.data && typeof env.data === 'object' ? (env.data as { id?: unknown }).id : undefined;
  if (typeof inner === 'string' || typeof inner === 'number') return String(inner);
  return undefined;
}

/** Symbols named by an UNKNOWN_SYMBOL error (`symbol` or `symbols` in its data). */
function rejectedSymbols(data: unknown): string[] {
  if (!data || typeof data !== 'object') return [];
  const d = data as { symbol?: unknown; symbols?: unknown };
  const out: string[] = [];
  if (typeof d.symbol === 'string') out.push(d.symbol.toUpperCase());
  if (Array.isArray(d.symbols)) for (const s of d.symbols) if (typeof s === 'string') out.push(s.toUpperCase());
  return out;
}
