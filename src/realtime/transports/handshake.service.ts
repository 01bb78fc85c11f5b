import { Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { SESSION_COOKIE, SessionService } from '../../auth/session.service';
import { AppConfig } from '../../config/app-config';
import { DatabaseUnavailableError, withDeadline } from '../../database/db-errors';
import type { ConnectionIdentity } from '../hub/connection';

/**
 * - `same`: Origin is exactly the server's own origin as this request reached it: its scheme
 *   (https over TLS, or as a trusted proxy's X-Forwarded-Proto says, else http) and the Host
 *   header (or a trusted proxy's X-Forwarded-Host);
 * - `listed`: Origin is in ALLOWED_ORIGINS (exact scheme, host and port);
 * - `absent`: no Origin header and no browser evidence of a same-origin request: allowed, but
 *   the session cookie is ignored (non-browser clients);
 * - `forbidden`: any other Origin: HTTP 403, no upgrade.
 */
export type OriginVerdict = 'same' | 'listed' | 'absent' | 'forbidden';

/**
 * Handshake rules shared by both transports: the Origin check against
 * cross-site WebSocket hijacking, and session identification from the
 * `rm.sid` cookie through the same session store as REST.
 */
@Injectable()
export class HandshakeService {
  private readonly allowed: Set<string>;
  /** TRUST_PROXY as a yes/no, used only when the Express app's own trust function is not available. */
  private readonly trustProxy: boolean;

  constructor(
    config: AppConfig,
    private readonly sessions: SessionService,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.allowed = new Set();
    for (const entry of config.allowedOrigins) {
      const o = normaliseOrigin(entry);
      if (o) this.allowed.add(o);
      else new Logger('Handshake').warn(`ALLOWED_ORIGINS: ignoring ${JSON.stringify(entry)}, not an origin (scheme://host[:port], nothing after it)`);
    }
    this.trustProxy = config.trustProxy !== false;
    this.authTimeoutMs = config.WS_AUTH_TIMEOUT_MS;
  }

  checkOrigin(req: IncomingMessage): OriginVerdict {
    const origin = req.headers.origin;
    if (origin === undefined || origin === '') {
      // Browsers omit Origin on same-origin GETs (Socket.IO's long-polling handshake) but always
      // send Fetch Metadata, which pages cannot forge: `Sec-Fetch-Site: same-origin` is our own page.
      return req.headers['sec-fetch-site'] === 'same-origin' ? 'same' : 'absent';
    }
    // Anything but a bare `scheme://host[:port]` (userinfo, path, query, fragment, `null`) is refused.
    const normalised = normaliseOrigin(origin);
    if (normalised === null) return 'forbidden';
    if (this.allowed.has(normalised)) return 'listed';
    return this.ownOrigins(req).includes(normalised) ? 'same' : 'forbidden';
  }

  /** Whether `origin` is one of ALLOWED_ORIGINS, compared exactly like the handshake does (CORS of long-polling). */
  isListed(origin: string): boolean {
    const o = normaliseOrigin(origin);
    return o !== null && this.allowed.has(o);
  }

  /**
   * The server's own origin as this request reached it, canonical: the scheme (https over
   * TLS; behind a trusted proxy, what X-Forwarded-Proto says) with the Host header, and with
   * a trusted proxy's X-Forwarded-Host. Trust is Express's TRUST_PROXY decision for the peer.
   */
  private ownOrigins(req: IncomingMessage): string[] {
    const trusted = this.fromTrustedProxy(req);
    let scheme = (req.socket as TLSSocket | undefined)?.encrypted ? 'https' : 'http';
    if (trusted) {
      const forwarded = firstHeader(req.headers['x-forwarded-proto'])?.toLowerCase();
      if (forwarded === 'http' || forwarded === 'https') scheme = forwarded;
    }
    const hosts = [req.headers.host];
    if (trusted) hosts.push(firstHeader(req.headers['x-forwarded-host']));
    const own: string[] = [];
    for (const host of hosts) {
      const o = host ? normaliseOrigin(`${scheme}://${host.trim()}`) : null;
      if (o) own.push(o);
    }
    return own;
  }

  /** Whether the peer is a proxy TRUST_PROXY trusts (the same function Express uses for req.protocol and req.host). */
  private fromTrustedProxy(req: IncomingMessage): boolean {
    const app = this.adapterHost.httpAdapter?.getInstance?.() as { get?: (setting: string) => unknown } | undefined;
    const trust = typeof app?.get === 'function' ? app.get('trust proxy fn') : undefined;
    if (typeof trust !== 'function') return this.trustProxy;
    return (trust as (addr: string | undefined, i: number) => boolean)(req.socket?.remoteAddress, 0);
  }

  /** WS_AUTH_TIMEOUT_MS: the longest a handshake waits for its session lookup. */
  private readonly authTimeoutMs: number;

  /**
   * The logged-in user of a handshake, or null. Without an Origin header the
   * cookie is ignored (documented: browsers always send Origin on WebSocket and
   * cross-origin requests, so a cookie without one is not a page of ours).
   *
   * The session lookup is bounded by WS_AUTH_TIMEOUT_MS: past it this rejects with
   * DatabaseUnavailableError, as it rejects when the store fails, and the transports
   * refuse the handshake with 503 SERVICE_UNAVAILABLE. Deliberately not "anonymous":
   * a logged-in user silently losing their portfolios is worse than a retry.
   */
  async identify(req: IncomingMessage, verdict: OriginVerdict): Promise<ConnectionIdentity | null> {
    if (verdict === 'absent' || verdict === 'forbidden') return null;
    const cookie = req.headers.cookie;
    if (!cookie || !cookie.includes(`${SESSION_COOKIE}=`)) return null;
    return withDeadline(
      this.sessions.identify(req),
      this.authTimeoutMs,
      () => new DatabaseUnavailableError(`The session store did not answer within ${this.authTimeoutMs} ms`),
    );
  }
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim();
}

/**
 * A bare origin as browsers send it: `scheme://host[:port]` and nothing else (no userinfo,
 * path, not even `/`, query, fragment or spaces); host a name, an IPv4 or a bracketed IPv6.
 */
const BARE_ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-f:.]+\]|[a-z0-9_][a-z0-9._-]*)(?::([1-9][0-9]{0,4}))?$/i;
const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443 };

/**
 * `scheme://host[:port]` in canonical form (lower case, the scheme's default port dropped,
 * so `http://h` and `http://h:80` are the same origin), or null for anything that is not a
 * bare origin (`null`, userinfo, a path, a query, a fragment, a port out of range).
 */
export function normaliseOrigin(origin: string): string | null {
  const m = BARE_ORIGIN.exec(origin);
  if (!m) return null;
  const scheme = m[1].toLowerCase();
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && port > 65535) return null;
  return `${scheme}://${m[2].toLowerCase()}${port === undefined || port === DEFAULT_PORTS[scheme] ? '' : `:${port}`}`;
}
