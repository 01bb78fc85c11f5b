import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseOrigin } from '../../src/realtime/transports/handshake.service';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { startTestApp, TestApp } from '../support/app';
import { loginAs } from '../support/realtime-fixtures';
import { IoProbe, WsProbe } from '../support/realtime-probes';
import { poll } from '../support/poll';

const LISTED = ['https://app.example.com', 'http://localhost:5173'];

type Kind = 'websocket' | 'socketio';

/**
 * Opens a handshake with exactly these headers (Origin, cookie, Host, X-Forwarded-*) and
 * resolves with the `connection` data, or with the HTTP status / Socket.IO refusal code.
 */
async function handshake(kind: Kind, t: TestApp, headers: Record<string, string>): Promise<{ refused: string | number } | { authenticated: boolean }> {
  if (kind === 'websocket') {
    let p: WsProbe;
    try {
      p = await WsProbe.open(t.wsUrl, { wsOptions: { headers } });
    } catch (err) {
      return { refused: (err as { statusCode?: number }).statusCode ?? String(err) };
    }
    const data = (await p.next('connection')).data;
    await p.close();
    return { authenticated: data.authenticated };
  }
  // Engine.IO's WebSocket upgrade: refused before Socket.IO sees it (HTTP status), or opened.
  const status = await new Promise<number>((resolve) => {
    const ws = new WsProbe.Socket(`${t.wsUrl}/socket.io/?EIO=4&transport=websocket`, { headers });
    const timer = setTimeout(() => resolve(-2), 5000);
    const done = (code: number) => {
      clearTimeout(timer);
      ws.terminate();
      resolve(code);
    };
    ws.on('unexpected-response', (_req, res) => done(res.statusCode ?? 0));
    ws.on('open', () => done(101));
    ws.on('error', () => done(-1));
  });
  if (status !== 101) return { refused: status };
  const p = await IoProbe.open(t.url, { headers });
  const data = (await p.next('connection')).data;
  await p.close();
  return { authenticated: data.authenticated };
}

/** Status of Socket.IO's long-polling handshake (Engine.IO allowRequest) for this Origin. */
async function pollingStatus(t: TestApp, origin: string): Promise<number> {
  const res = await fetch(`${t.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin } });
  await res.text();
  return res.status;
}

describe('realtime: exact Origin check', () => {
  let t: TestApp;
  let cookie: string;
  let own: string;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({ ALLOWED_ORIGINS: LISTED.join(',') });
    cookie = (await loginAs(t, 'origin-user')).cookie;
    own = t.url;
    port = t.port;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('normaliseOrigin accepts only bare origins, canonical (lower case, default port dropped)', () => {
    expect(normaliseOrigin('http://127.0.0.1:8101')).toBe('http://127.0.0.1:8101');
    expect(normaliseOrigin('HTTPS://App.Example.com:443')).toBe('https://app.example.com');
    expect(normaliseOrigin('http://h:80')).toBe('http://h');
    expect(normaliseOrigin('http://[::1]:8000')).toBe('http://[::1]:8000');
    for (const bad of [
      'null',
      '',
      'http://evil.com@127.0.0.1:8101',
      'http://127.0.0.1:8101/x',
      'http://127.0.0.1:8101/',
      'http://h?q',
      'http://h#f',
      'http://h:0',
      'http://h:65536',
      ' http://h',
      'http://h ',
      '127.0.0.1:8101',
      'http://',
    ]) {
      expect(normaliseOrigin(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  describe.each(['websocket', 'socketio'] as const)('over %s', (kind) => {
    it('accepts only the exact own origin and exact ALLOWED_ORIGINS entries: refuses a scheme mismatch, userinfo, a path, a query, a fragment, `null`, near misses', async () => {
      const refused = [
        `https://127.0.0.1:${port}`, // the server's own host, but it is served over http
        `http://evil.com@127.0.0.1:${port}`,
        `http://127.0.0.1:${port}/x`,
        `http://127.0.0.1:${port}/`,
        `http://127.0.0.1:${port}?a=1`,
        `http://127.0.0.1:${port}#top`,
        `ftp://127.0.0.1:${port}`,
        'null',
        'http://app.example.com', // listed with https
        'https://app.example.com:8443',
        'https://app.example.com/',
        'http://localhost:5173/',
        'http://localhost:5174',
      ];
      for (const origin of refused) {
        const r = await handshake(kind, t, { origin, cookie });
        expect(r, origin).toEqual({ refused: 403 });
        if (kind === 'socketio') expect(await pollingStatus(t, origin), origin).toBe(403);
      }
      // Without a trusted proxy, X-Forwarded-Proto is not believed.
      expect(await handshake(kind, t, { origin: `https://127.0.0.1:${port}`, cookie, 'x-forwarded-proto': 'https' })).toEqual({ refused: 403 });
      expect(t.app.get(RealtimeHub).stats().total_connections).toBe(0);
      for (const origin of [own, ...LISTED, 'https://app.example.com:443']) {
        expect(await handshake(kind, t, { origin, cookie }), origin).toEqual({ authenticated: true });
      }
      // The default port is no port: http://h and http://h:80 are the same origin. The Host header
      // names the server without a port (as behind a proxy on port 80).
      expect(await handshake(kind, t, { host: 'localhost', origin: 'http://localhost:80', cookie })).toEqual({ authenticated: true });
      expect(await handshake(kind, t, { host: 'localhost:80', origin: 'http://localhost', cookie })).toEqual({ authenticated: true });
      expect(await handshake(kind, t, { host: 'localhost', origin: 'http://localhost:8080', cookie })).toEqual({ refused: 403 });
      await poll('probes closed', () => t.app.get(RealtimeHub).stats().total_connections === 0);
    });
  });
});

describe('realtime: Origin behind a trusted proxy (TRUST_PROXY)', () => {
  let t: TestApp;
  let cookie: string;

  beforeAll(async () => {
    t = await startTestApp({ TRUST_PROXY: 'loopback' });
    cookie = (await loginAs(t, 'proxy-user')).cookie;
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(['websocket', 'socketio'] as const)('%s: X-Forwarded-Proto https makes the https origin ours, and the http one foreign', async (kind) => {
    const host = `127.0.0.1:${t.port}`;
    expect(await handshake(kind, t, { origin: `https://${host}`, cookie, 'x-forwarded-proto': 'https' })).toEqual({ authenticated: true });
    expect(await handshake(kind, t, { origin: `http://${host}`, cookie, 'x-forwarded-proto': 'https' })).toEqual({ refused: 403 });
    // The public name the proxy forwards.
    expect(
      await handshake(kind, t, { origin: 'https://markets.example', cookie, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'markets.example' }),
    ).toEqual({ authenticated: true });
    expect(await handshake(kind, t, { origin: 'https://markets.example', cookie, 'x-forwarded-proto': 'https' })).toEqual({ refused: 403 });
    // Still plain http without the header.
    expect(await handshake(kind, t, { origin: `http://${host}`, cookie })).toEqual({ authenticated: true });
  });
});
