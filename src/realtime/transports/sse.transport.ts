import {
  BadRequestException,
  BeforeApplicationShutdown,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Injectable,
  Logger,
  NotFoundException,
  OnApplicationBootstrap,
  OnModuleDestroy,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { OutgoingHttpHeaders } from 'node:http';
import { AssetCatalogService } from '../../assets/asset-catalog.service';
import type { PriceTick } from '../../bus/bus.messages';
import { AppConfig } from '../../config/app-config';
import { DatabaseUnavailableError, isDbUnavailableError, OutageLog, withDeadline } from '../../database/db-errors';
import { PortfolioAccessService } from '../../portfolios/portfolio-access.service';
import { ClusterPresence, ConnectionSlot } from '../cluster/cluster-presence';
import type { ConnectionIdentity } from '../hub/connection';
import { InboundQueue } from '../hub/inbound-queue';
import { RealtimeHub } from '../hub/realtime-hub.service';
import type { PortfolioTopic } from '../hub/subscription-index';
import { BATCH_MS_MAX, BATCH_MS_MIN } from '../protocol/client-messages.dto';
import { RefusalCode } from '../protocol/error-codes';
import { countHandshake, HandshakeResult } from '../realtime.metrics';
import { HandshakeService } from './handshake.service';
import { parseBatch, SHUTDOWN_GRACE_MS } from './raw-websocket.transport';
import type { RealtimeServer } from './realtime-server';
import { parseSseCursor, parseSseQuery } from './sse-request';
import { SseConnection } from './sse.connection';

/** Header of `POST /realtime/sse/{connection_id}/messages`: the stream's `sse_token`. */
export const SSE_TOKEN_HEADER = 'x-sse-token';

/**
 * The Server-Sent Events fallback (for browsers behind proxies that refuse WebSocket), a third
 * transport of the same hub:
 *  - `open` (`GET /realtime/sse?symbols=AAPL,MSFT&portfolios=3`): every refusal is an HTTP error
 *    in the API's usual shape BEFORE the stream starts (403 origin, 400 query or unknown symbols,
 *    401 portfolios without a session, 404 a portfolio that is not yours, 429 over
 *    MAX_CONNECTIONS_PER_USER, 503 database or shutdown); then, in one synchronous block, the hub
 *    registers the stream (`connection`), its topics are added, `subscribed` is sent with the
 *    resume's `recovered` flags (Last-Event-ID), the replays, then the snapshots;
 *  - `receive` (`POST /realtime/sse/{connection_id}/messages`): a client envelope of a stream
 *    of this instance, authorised by its token, goes to the InboundQueue exactly like a raw
 *    WebSocket text frame (parser, rate limit, gateway); its reply comes on the stream;
 *  - a keep-alive comment on every stream each HEARTBEAT_INTERVAL; a stream whose client went
 *    away is released at once.
 */
@Injectable()
export class SseTransport implements OnApplicationBootstrap, BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger('SseTransport');
  private readonly storeOutage = new OutageLog(this.logger);
  /** Open streams of this instance, by connection id (where POSTed messages go). */
  private readonly streams = new Map<string, SseConnection>();
  private gateway?: RealtimeServer;
  private keepAlive: NodeJS.Timeout | null = null;
  /** Set at shutdown: new streams get 503 (a reconnecting client must not slip in). */
  private closing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly hub: RealtimeHub,
    private readonly inbound: InboundQueue,
    private readonly handshake: HandshakeService,
    private readonly presence: ClusterPresence,
    private readonly catalog: AssetCatalogService,
    private readonly access: PortfolioAccessService,
  ) {}

  /** Accepted streams are reported to `gateway` (RealtimeWsAdapter.create calls this), which binds its handlers to them. */
  listen(gateway: RealtimeServer): void {
    this.gateway = gateway;
  }

  onApplicationBootstrap(): void {
    this.keepAlive = setInterval(() => {
      for (const conn of this.streams.values()) conn.ping();
    }, this.config.HEARTBEAT_INTERVAL * 1000);
    this.keepAlive.unref();
  }

  onModuleDestroy(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }

  /** Ends every stream (the hub drops them: 1001), gives readers a moment to take the end, then cuts what is left. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    this.hub.beforeApplicationShutdown();
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    const sockets = () => [...this.streams.values()].filter((c) => !c.res.socket?.destroyed);
    while (sockets().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const conn of this.streams.values()) conn.res.destroy();
    this.streams.clear();
  }

  /** Open streams on this instance (tests, shutdown). */
  get size(): number {
    return this.streams.size;
  }

  /** `GET /realtime/sse`: checks everything, then streams; throws an HttpException (the usual error JSON) when refused. */
  async open(req: Request, res: Response): Promise<void> {
    let gone = false;
    res.once('close', () => (gone = true));
    if (this.closing) refuse('shutting_down', new ServiceUnavailableException('Server shutting down, try again'));
    const verdict = this.handshake.checkOrigin(req);
    if (verdict === 'forbidden') refuse('origin_refused', new ForbiddenException(`${RefusalCode.FORBIDDEN_ORIGIN}: Origin not allowed`));

    const max = this.config.MAX_SUBSCRIPTIONS_PER_CONNECTION;
    const q = queryOf(req.url);
    const parsed = parseSseQuery(q, max);
    if (!parsed.ok) refuse('bad_request', new BadRequestException({ message: parsed.problems.join('; '), details: parsed.problems }));
    const { symbols, portfolios, lastEventId } = parsed.query;
    const batchMs = parseBatch(req.url);
    if (batchMs === null) refuse('bad_request', new BadRequestException(`batch must be 0 or ${BATCH_MS_MIN}..${BATCH_MS_MAX} ms, e.g. batch=50ms`));
    // Last-Event-ID (EventSource sets it on its own reconnects), or ?last_event_id= for clients that cannot set headers.
    // Garbage is ignored, as if absent.
    const header = req.headers['last-event-id'];
    const since = parseSseCursor(typeof header === 'string' && header.trim() !== '' ? header : lastEventId, max) ?? new Map<string, number>();

    let identity: ConnectionIdentity | null;
    try {
      identity = await this.handshake.identify(req, verdict);
    } catch (err) {
      if (isDbUnavailableError(err)) this.storeOutage.failed('SSE session lookup', err);
      else this.logger.warn(`Session lookup failed for an SSE stream: ${(err as Error).message}`);
      return refuse('unavailable', new ServiceUnavailableException('The session store is not answering: try again shortly'));
    }
    if (portfolios.length > 0 && identity === null) {
      refuse('bad_request', new UnauthorizedException('Log in to stream portfolios (session cookie, and an Origin of this site)'));
    }

    // Every database wait of the handshake together is bounded like one request: DB_STATEMENT_TIMEOUT_MS + 1 s
    // (then 503 SERVICE_UNAVAILABLE, by HttpExceptionFilter).
    const deadline = Date.now() + this.config.DB_STATEMENT_TIMEOUT_MS + 1000;
    const bounded = <T>(work: Promise<T>): Promise<T> =>
      withDeadline(work, Math.max(0, deadline - Date.now()), () => new DatabaseUnavailableError('The database did not answer in time')).catch(
        (err: unknown) => {
          if (isDbUnavailableError(err)) countHandshake('sse', 'unavailable');
          throw err;
        },
      );

    // The query's symbols must all exist; the cursor's unknown ones are dropped (it is only a hint).
    const all = [...new Set([...symbols, ...since.keys()])];
    const known = await bounded(Promise.all(all.map((s) => this.catalog.isKnown(s))));
    const unknown = all.filter((_, i) => !known[i]);
    const unknownAsked = unknown.filter((s) => symbols.includes(s));
    if (unknownAsked.length > 0) {
      refuse(
        'bad_request',
        new BadRequestException({
          message: `Unknown symbol${unknownAsked.length > 1 ? 's' : ''}: ${unknownAsked.join(', ')}`,
          details: { code: 'UNKNOWN_SYMBOL', symbols: unknownAsked },
        }),
      );
    }
    for (const s of unknown) since.delete(s);
    // Symbols of the cursor that the URL does not list (added by POST before a reconnect) come back while there is room.
    const wanted = [...symbols];
    for (const s of since.keys()) {
      if (wanted.includes(s)) continue;
      if (wanted.length + portfolios.length >= max) since.delete(s);
      else wanted.push(s);
    }

    if (portfolios.length > 0) {
      // The one ownership rule: someone else's portfolio answers exactly like a missing one.
      const owned = await bounded(Promise.all(portfolios.map((id) => this.access.findOwned(identity!.userId, id))));
      const missing = portfolios.find((_, i) => !owned[i]);
      if (missing !== undefined) refuse('bad_request', new NotFoundException(`Portfolio ${missing} not found`));
    }

    // A resume is decided and sent in one turn: the prices this instance has not seen are looked up first.
    const looked: Map<string, PriceTick> = since.size > 0 ? await bounded(this.hub.lookUpPrices(this.hub.withoutPrice(since.keys()))) : new Map();

    // A logged-in user's slot in MAX_CONNECTIONS_PER_USER (across instances with REDIS_URL).
    let slot: ConnectionSlot | null = null;
    if (identity) {
      const admission = await this.presence.acquire(identity.userId);
      if (!admission.ok) refuse('limit', tooMany(admission.limit));
      slot = admission.slot;
    }
    if (gone || this.closing) {
      if (slot) this.presence.release(slot);
      if (gone) return;
      refuse('shutting_down', new ServiceUnavailableException('Server shutting down, try again'));
    }

    // From here on, one synchronous block: no live update can come between the `subscribed` and the replays.
    const conn = new SseConnection(res, undefined, corsHeaders(verdict, req.headers.origin));
    conn.slot = slot;
    const opened = this.hub.open(conn, identity, batchMs);
    if (!opened.ok) {
      // Over the limit on this instance's own count (a parallel handshake took the last slot).
      if (slot) this.presence.release(slot);
      refuse('limit', tooMany(this.config.MAX_CONNECTIONS_PER_USER));
    }
    countHandshake('sse', 'accepted');
    this.streams.set(conn.id, conn);
    // The response's 'close' (not the request's: that one fires when the request body is read): the client went away.
    res.once('close', () => this.closed(conn));
    req.socket.setNoDelay(true);
    this.gateway?.connected(conn);

    const added = this.hub.addAssets(conn, wanted);
    const topics: PortfolioTopic[] = [];
    for (const id of portfolios) {
      const topic = this.hub.addPortfolio(conn, id);
      if (topic) topics.push(topic);
    }
    const resume = since.size > 0 ? this.hub.resumeAssets(conn, since, looked) : null;
    conn.resumeFrom(since);
    const change = this.hub.change(
      conn,
      added,
      topics.map((t) => t.portfolioId),
    );
    this.hub.push(conn, 'subscribed', resume ? { ...change, recovered: { assets: resume.recovered, portfolios: {} } } : change);
    resume?.send();
    const rest = added.filter((s) => !since.has(s));
    if (rest.length > 0) this.hub.sendAssetSnapshots(conn, rest).catch((err: Error) => this.logger.warn(`SSE snapshot failed: ${err.message}`));
    for (const topic of topics) {
      this.hub.sendPortfolioSnapshot(conn, topic).catch((err: Error) => this.logger.warn(`SSE portfolio snapshot failed: ${err.message}`));
    }
  }

  /**
   * `POST /realtime/sse/{connection_id}/messages`: one client envelope for a stream of this
   * instance (404 otherwise: the client reconnects), with its token (403), at most
   * WS_MAX_PAYLOAD bytes (413). Handled exactly like a raw WebSocket text frame; the reply, or
   * the error, comes on the stream with the message's `id`.
   */
  async receive(connectionId: string, token: unknown, req: Request, res: Response): Promise<void> {
    const conn = this.streams.get(connectionId);
    if (!conn || !conn.open) throw new NotFoundException('No such stream on this instance: open a new one');
    if (!conn.tokenMatches(token)) throw new ForbiddenException(`Wrong or missing X-SSE-Token for stream ${connectionId}`);
    if (this.handshake.checkOrigin(req) === 'forbidden') throw new ForbiddenException(`${RefusalCode.FORBIDDEN_ORIGIN}: Origin not allowed`);
    const text = await bodyText(req, res, this.config.WS_MAX_PAYLOAD);
    this.inbound.receive(conn, { kind: 'text', text });
  }

  private closed(conn: SseConnection): void {
    this.streams.delete(conn.id);
    this.hub.closed(conn);
  }
}

/** A refused stream: counted, then the HTTP error (the usual JSON, by HttpExceptionFilter). */
function refuse(result: HandshakeResult, err: HttpException): never {
  countHandshake('sse', result);
  throw err;
}

function queryOf(url: string | undefined): URLSearchParams {
  const q = url?.indexOf('?') ?? -1;
  return new URLSearchParams(q === -1 || !url ? '' : url.slice(q + 1));
}

function tooMany(limit: number): HttpException {
  return new HttpException(
    { message: `${RefusalCode.CONNECTION_LIMIT}: at most ${limit} connections per user`, details: { code: RefusalCode.CONNECTION_LIMIT, limit } },
    HttpStatus.TOO_MANY_REQUESTS,
  );
}

/** A page of an ALLOWED_ORIGINS site may read the stream (EventSource `withCredentials`). */
function corsHeaders(verdict: string, origin: string | undefined): OutgoingHttpHeaders {
  if (verdict !== 'listed' || !origin) return {};
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' };
}

/**
 * The posted envelope as text. `text/plain` (what the typed client sends: no CORS preflight)
 * or no type: the raw body, read here; `application/json`: the app's JSON parser already read
 * it, so its value is serialised again (the parser refuses malformed JSON with 400 first).
 */
async function bodyText(req: Request, res: Response, max: number): Promise<string> {
  const tooLarge = () => {
    res.setHeader('Connection', 'close');
    return new PayloadTooLargeException(`A message is at most ${max} bytes`);
  };
  if (req.readableEnded) {
    // One of the app's body parsers read it: only JSON can be given back as the text sent.
    if (req.body === undefined || !req.is('application/json')) {
      throw new BadRequestException('Send the message as JSON text (Content-Type text/plain or application/json)');
    }
    const text = JSON.stringify(req.body);
    if (Buffer.byteLength(text) > max) throw tooLarge();
    return text;
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
