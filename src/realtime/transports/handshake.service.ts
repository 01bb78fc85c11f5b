import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { SESSION_COOKIE, SessionService } from '../../auth/session.service';
import { AppConfig } from '../../config/app-config';
import type { ConnectionIdentity } from '../hub/connection';

/**
 * - `same`: Origin names the host the request was sent to (Host header);
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
  private readonly trustProxy: boolean;

  constructor(
    config: AppConfig,
    private readonly sessions: SessionService,
  ) {
    this.allowed = new Set(config.allowedOrigins.map(normaliseOrigin).filter((o): o is string => o !== null));
    this.trustProxy = config.trustProxy !== false;
  }

  checkOrigin(req: IncomingMessage): OriginVerdict {
    const origin = req.headers.origin;
    if (origin === undefined || origin === '') {
      // Browsers omit Origin on same-origin GETs (Socket.IO's long-polling handshake) but always
      // send Fetch Metadata, which pages cannot forge: `Sec-Fetch-Site: same-origin` is our own page.
      return req.headers['sec-fetch-site'] === 'same-origin' ? 'same' : 'absent';
    }
    const normalised = normaliseOrigin(origin);
    if (normalised === null) return 'forbidden';
    if (this.allowed.has(normalised)) return 'listed';
    const url = new URL(normalised);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'forbidden';
    const hosts = [req.headers.host];
    if (this.trustProxy) hosts.push(firstHeader(req.headers['x-forwarded-host']));
    for (const h of hosts) {
      if (h && sameHost(url, h, url.protocol)) return 'same';
    }
    return 'forbidden';
  }

  /**
   * The logged-in user of a handshake, or null. Without an Origin header the
   * cookie is ignored (documented: browsers always send Origin on WebSocket and
   * cross-origin requests, so a cookie without one is not a page of ours).
   */
  async identify(req: IncomingMessage, verdict: OriginVerdict): Promise<ConnectionIdentity | null> {
    if (verdict === 'absent' || verdict === 'forbidden') return null;
    const cookie = req.headers.cookie;
    if (!cookie || !cookie.includes(`${SESSION_COOKIE}=`)) return null;
    return this.sessions.identify(req);
  }
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim();
}

/** `scheme://host[:port]` in canonical form (default ports dropped, lower case), or null. */
export function normaliseOrigin(origin: string): string | null {
  if (origin === 'null') return null;
  try {
    const u = new URL(origin.trim());
    if (!u.host) return null;
    return u.origin;
  } catch {
    return null;
  }
}

function sameHost(origin: URL, hostHeader: string, protocol: string): boolean {
  try {
    const h = new URL(`${protocol}//${hostHeader.trim()}`);
    return h.host === origin.host;
  } catch {
    return false;
  }
}
