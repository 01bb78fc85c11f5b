import { Parser } from '@asyncapi/parser';
import { MarketClock } from '../../src/assets/market-clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_MESSAGE_TYPES } from '../../src/realtime/protocol/client-messages';
import { DISCONNECT_CODES, ERROR_CODES } from '../../src/realtime/protocol/error-codes';
import { CLIENT_MESSAGE_DESCRIPTIONS, SERVER_MESSAGE_DESCRIPTIONS } from '../../src/realtime/protocol/message-descriptions';
import { SERVER_MESSAGE_TYPES } from '../../src/realtime/protocol/server-messages';
import { startTestApp, TestApp } from '../support/app';
import { checkSchema } from '../support/json-schema-lite';
import { api, loginAs } from '../support/realtime-fixtures';
import { Envelope, IoProbe, Probe, WsProbe } from '../support/realtime-probes';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const ALL_TYPES = [...CLIENT_MESSAGE_TYPES, ...SERVER_MESSAGE_TYPES];
const sorted = <T>(xs: Iterable<T>) => [...xs].sort();

/**
 * Routes the app registers on Express that the OpenAPI document does NOT list, and why:
 *  - /api/docs, /api/docs/..., /api/docs-json: Swagger UI and the OpenAPI document themselves;
 *  - '/', '/realtime', '/realtime/': redirects to the dashboard page (WebStaticService), not an API.
 * Also not in the router at all (so nothing to exclude): the pages and their bundles
 * (static middleware under /realtime/dashboard, /realtime/test, /realtime/assets), the Socket.IO
 * endpoint /socket.io and the raw WebSocket upgrade at /ws/realtime/ (both in the AsyncAPI document).
 */
function isExcluded(path: string): boolean {
  return (
    path === '/api/docs' ||
    path.startsWith('/api/docs/') ||
    path.startsWith('/api/docs-') ||
    ['/', '/realtime', '/realtime/'].includes(path) ||
    path.startsWith('/socket.io')
  );
}

/** "METHOD /path/{param}" of every route on the app's Express instance (Express 5: `app.router.stack`; middleware layers have no `route`). */
function registeredRoutes(t: TestApp): { included: Set<string>; excluded: Set<string> } {
  const express = t.app.getHttpAdapter().getInstance() as unknown as {
    router: { stack: { route?: { path: string | string[]; methods: Record<string, boolean> } }[] };
  };
  const included = new Set<string>();
  const excluded = new Set<string>();
  for (const layer of express.router.stack) {
    if (!layer.route) continue; // middleware (session, passport, static files, 404 handler)
    const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
    for (const path of paths) {
      for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) {
        const key = `${method.toUpperCase()} ${path.replace(/:(\w+)/g, '{$1}')}`;
        (isExcluded(path) ? excluded : included).add(key);
      }
    }
  }
  return { included, excluded };
}

/** Every `$ref` anywhere in a document, with where it is. */
function refs(node: unknown, at = '$', out: { at: string; ref: string }[] = []): { at: string; ref: string }[] {
  if (Array.isArray(node)) node.forEach((v, i) => refs(v, `${at}[${i}]`, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push({ at, ref: v });
      else refs(v, `${at}.${k}`, out);
    }
  }
  return out;
}
function resolves(doc: unknown, ref: string): boolean {
  if (!ref.startsWith('#/')) return false;
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    if (!node || typeof node !== 'object') return false;
    node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node !== undefined;
}

describe('machine-readable API documents', () => {
  let t: TestApp;
  let openapi: any;
  let asyncapi: any;
  let demo: { cookie: string; portfolioId: number };

  beforeAll(async () => {
    t = await startTestApp();
    openapi = await (await fetch(`${t.url}/api/docs-json`)).json();
    asyncapi = await (await fetch(`${t.url}/realtime/asyncapi.json`)).json();
    const login = await fetch(`${t.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password: 'demo-password' }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const list = await api<{ items: { id: number }[] }>(t, cookie, 'GET', '/api/portfolios');
    demo = { cookie, portfolioId: list.body.items[0]!.id };
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The response schema an operation documents for a status (JSON content). */
  function responseSchema(method: string, path: string, status: number): Record<string, unknown> {
    const op = openapi.paths[path]?.[method];
    expect(op, `${method.toUpperCase()} ${path} is documented`).toBeDefined();
    const res = op.responses[String(status)];
    expect(res, `${method.toUpperCase()} ${path} documents ${status}`).toBeDefined();
    const schema = res.content?.['application/json']?.schema;
    expect(schema, `${method.toUpperCase()} ${path} ${status} has a JSON schema`).toBeDefined();
    return schema;
  }

  /** Calls the API and checks the answer against what the document says of that operation and status (undocumented fields fail). */
  async function conforms(method: string, path: string, url: string, status: number, opts: { cookie?: string; body?: unknown } = {}): Promise<any> {
    const res = await fetch(`${t.url}${url}`, {
      method: method.toUpperCase(),
      headers: { origin: t.url, ...(opts.cookie ? { cookie: opts.cookie } : {}), ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(checkSchema(body, responseSchema(method, path, status), openapi, { closed: true })).toEqual([]);
    return body;
  }

  describe('OpenAPI at /api/docs-json', () => {
    it('is an OpenAPI 3 document: version, info, operations with responses, path parameters declared', () => {
      expect(openapi.openapi).toMatch(/^3\.\d+\.\d+$/);
      expect(typeof openapi.info?.title).toBe('string');
      expect(typeof openapi.info?.version).toBe('string');
      expect(Object.keys(openapi.paths).length).toBeGreaterThan(10);
      const operationIds = new Set<string>();
      for (const [path, item] of Object.entries<any>(openapi.paths)) {
        expect(path.startsWith('/'), path).toBe(true);
        const templated = sorted([...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
        for (const method of HTTP_METHODS) {
          const op = item[method];
          if (!op) continue;
          const where = `${method.toUpperCase()} ${path}`;
          expect(Object.keys(op.responses ?? {}).length, `${where} has responses`).toBeGreaterThan(0);
          for (const [status, res] of Object.entries<any>(op.responses)) {
            expect(status, where).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
            expect(typeof res.description, `${where} ${status} description`).toBe('string');
          }
          expect(
            Object.keys(op.responses).some((s) => s.startsWith('2')),
            `${where} documents a success`,
          ).toBe(true);
          const pathParams = (op.parameters ?? []).filter((p: any) => p.in === 'path');
          expect(sorted(pathParams.map((p: any) => p.name)), `${where} path parameters`).toEqual(templated);
          for (const p of pathParams) expect(p.required, `${where} ${p.name} is required`).toBe(true);
          expect(operationIds.has(op.operationId), `${where} operationId ${op.operationId} is unique`).toBe(false);
          operationIds.add(op.operationId);
        }
      }
    });

    it('every $ref resolves', () => {
      const all = refs(openapi);
      expect(all.length).toBeGreaterThan(20);
      expect(all.filter((r) => !resolves(openapi, r.ref))).toEqual([]);
    });

    it('lists every route the app registers, with the same methods, and nothing else', () => {
      const { included, excluded } = registeredRoutes(t);
      const documented = new Set<string>();
      for (const [path, item] of Object.entries<any>(openapi.paths))
        for (const method of HTTP_METHODS) if (item[method]) documented.add(`${method.toUpperCase()} ${path}`);
      expect(included.size).toBeGreaterThan(10);
      expect(sorted(included)).toEqual(sorted(documented));
      // The exclusions are exactly the documents' own routes and the page redirects.
      expect(sorted(excluded).filter((r) => !r.includes('/api/docs'))).toEqual(['GET /', 'GET /realtime', 'GET /realtime/']);
      expect(excluded.has('GET /api/docs-json')).toBe(true);
    });

    it('has the session cookie security scheme, on the routes that need a login', () => {
      expect(openapi.components.securitySchemes.session).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'rm.sid' });
      const secured = (method: string, path: string) => (openapi.paths[path][method].security ?? []).some((s: any) => 'session' in s);
      for (const [method, path] of [
        ['get', '/auth/me'],
        ['post', '/auth/logout'],
        ['post', '/api/assets'],
        ['get', '/api/portfolios'],
        ['post', '/api/portfolios/{id}/positions'],
        ['delete', '/api/portfolios/{id}/positions/{positionId}'],
        ['post', '/api/realtime/force_price_update'],
      ])
        expect(secured(method!, path!), `${method} ${path}`).toBe(true);
      for (const [method, path] of [
        ['get', '/api/assets'],
        ['post', '/auth/login'],
      ])
        expect(secured(method!, path!), `${method} ${path}`).toBe(false);
    });

    it('documents every error answer with the shared ErrorResponse schema (4xx/5xx where they apply)', () => {
      const schema = openapi.components.schemas.ErrorResponse;
      expect(sorted(Object.keys(schema.properties))).toEqual(['details', 'error', 'message', 'statusCode']);
      expect(sorted(schema.required)).toEqual(['error', 'message', 'statusCode']);
      for (const [path, item] of Object.entries<any>(openapi.paths)) {
        for (const method of HTTP_METHODS) {
          if (!item[method]) continue;
          const responses = item[method].responses;
          expect(responses['503'], `${method} ${path} documents 503`).toBeDefined();
          for (const [status, res] of Object.entries<any>(responses)) {
            if (Number(status) >= 400)
              expect(res.content['application/json'].schema, `${method} ${path} ${status}`).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
          }
        }
      }
      const statuses = (method: string, path: string) => sorted(Object.keys(openapi.paths[path][method].responses));
      expect(statuses('post', '/auth/login')).toEqual(['200', '400', '401', '429', '503']);
      expect(statuses('post', '/api/assets')).toEqual(['201', '400', '401', '403', '409', '503']);
      expect(statuses('get', '/api/portfolios/{id}')).toEqual(['200', '401', '404', '503']);
      expect(statuses('post', '/api/portfolios/{id}/positions')).toEqual(['201', '400', '401', '404', '409', '503']);
    });

    it('says decimal values are strings (type string, a decimal pattern, an example)', () => {
      const s = openapi.components.schemas;
      for (const [schema, field] of [
        ['Asset', 'current_price'],
        ['Asset', 'change_percent'],
        ['Portfolio', 'total_value'],
        ['Portfolio', 'daily_change'],
        ['Position', 'quantity'],
        ['Position', 'market_value'],
        ['HistoryPoint', 'close'],
      ]) {
        const p = s[schema!].properties[field!];
        expect(p.type, `${schema}.${field}`).toBe('string');
        const re = new RegExp(p.pattern);
        expect(re.test(p.example), `${schema}.${field} example ${p.example}`).toBe(true);
        for (const ok of ['150.25', '-0.6321', '0', '39262.75']) expect(re.test(ok), ok).toBe(true);
        for (const bad of ['1e5', '1.', '.5', 'NaN', '']) expect(re.test(bad), bad).toBe(false);
      }
      // On input a decimal may be a JSON number or a decimal string.
      expect(s.CreatePositionDto.properties.quantity.oneOf.map((o: any) => o.type)).toEqual(['string', 'number']);
    });

    it('describes what the server really answers (bodies checked against the documented schemas, no undocumented field)', async () => {
      const cookie = demo.cookie;
      await conforms('get', '/api/assets', '/api/assets?limit=3', 200);
      await conforms('get', '/api/assets/{symbol}', '/api/assets/AAPL', 200);
      await conforms('get', '/api/assets/{symbol}/history', '/api/assets/AAPL/history?days=5', 200);
      await conforms('get', '/api/assets/{symbol}', '/api/assets/NOPE', 404);
      await conforms('get', '/auth/me', '/auth/me', 200, { cookie });
      await conforms('get', '/auth/me', '/auth/me', 401);
      const list = await conforms('get', '/api/portfolios', '/api/portfolios', 200, { cookie });
      expect(list.items.length).toBeGreaterThan(0);
      const detail = await conforms('get', '/api/portfolios/{id}', `/api/portfolios/${demo.portfolioId}`, 200, { cookie });
      expect(detail.positions.length).toBeGreaterThan(0);
      await conforms('get', '/api/portfolios/{id}/positions', `/api/portfolios/${demo.portfolioId}/positions`, 200, { cookie });
      const invalid = await conforms('post', '/api/portfolios', '/api/portfolios', 400, { cookie, body: { name: '', owner_id: 1 } });
      expect(Array.isArray(invalid.details)).toBe(true);
      const created = await conforms('post', '/api/portfolios', '/api/portfolios', 201, { cookie, body: { name: 'Docs check' } });
      const position = await conforms('post', '/api/portfolios/{id}/positions', `/api/portfolios/${created.id}/positions`, 201, {
        cookie,
        body: { symbol: 'MSFT', quantity: 2.5, average_cost: '400.1' },
      });
      await conforms('patch', '/api/portfolios/{id}/positions/{positionId}', `/api/portfolios/${created.id}/positions/${position.id}`, 200, {
        cookie,
        body: { quantity: '3' },
      });
      await conforms('patch', '/api/portfolios/{id}', `/api/portfolios/${created.id}`, 200, { cookie, body: { description: 'checked' } });
      await conforms('get', '/realtime/websocket-info', '/realtime/websocket-info/', 200);
      await conforms('get', '/realtime/status', '/realtime/status/', 200, { cookie });
      await conforms('get', '/realtime/health', '/realtime/health/', 200, { cookie });
      await conforms('get', '/realtime/health', '/realtime/health', 401);
      await conforms('get', '/health', '/health', 200);
      await conforms('get', '/health/ready', '/health/ready', 200);
      const asyncDoc = await fetch(`${t.url}/realtime/asyncapi.json`);
      expect(checkSchema(await asyncDoc.json(), responseSchema('get', '/realtime/asyncapi.json', 200), openapi)).toEqual([]);
      // Prometheus text: the documented media type is the one served.
      const metrics = await fetch(`${t.url}/metrics`);
      expect(metrics.status).toBe(200);
      await metrics.text();
      expect(Object.keys(openapi.paths['/metrics'].get.responses['200'].content)).toEqual([metrics.headers.get('content-type')]);
      const other = await loginAs(t, 'docs-other');
      await conforms('post', '/api/assets', '/api/assets', 403, { cookie: other.cookie, body: { symbol: 'ZZDOC', name: 'Docs', asset_type: 'STOCK' } });
      await conforms('post', '/auth/logout', '/auth/logout', 200, { cookie: other.cookie });
    });

    it('serves Swagger UI at /api/docs', async () => {
      const res = await fetch(`${t.url}/api/docs`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).toContain('swagger-ui');
      // Its script and style load (relative URLs resolve under /api/docs/).
      for (const asset of ['swagger-ui-bundle.js', 'swagger-ui.css', 'swagger-ui-init.js']) {
        const r = await fetch(`${t.url}/api/docs/${asset}`);
        expect(r.status, asset).toBe(200);
        await r.arrayBuffer();
      }
    });
  });

  describe('AsyncAPI at /realtime/asyncapi.json', () => {
    it('validates with @asyncapi/parser (no error diagnostics)', async () => {
      const parser = new Parser();
      const { document, diagnostics } = await parser.parse(JSON.stringify(asyncapi));
      expect(diagnostics.filter((d) => d.severity === 0).map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual([]);
      expect(document).toBeDefined();
      expect(document!.version()).toBe('3.0.0');
      // The parser does catch a broken document (so the check above means something).
      const broken = structuredClone(asyncapi);
      broken.operations.websocket_send_pong.messages[0].$ref = '#/channels/websocket/messages/nope';
      delete broken.channels.socketio.address;
      broken.servers.websocket.protocol = 42;
      const bad = await parser.parse(JSON.stringify(broken));
      expect(bad.diagnostics.filter((d) => d.severity === 0).length).toBeGreaterThan(0);
    });

    it('describes every client and server message type, and nothing else, on both transports', () => {
      const messages = asyncapi.components.messages;
      expect(sorted(Object.keys(messages))).toEqual(sorted(ALL_TYPES));
      for (const type of CLIENT_MESSAGE_TYPES) expect(messages[type].summary).toBe(CLIENT_MESSAGE_DESCRIPTIONS[type]);
      for (const type of SERVER_MESSAGE_TYPES) expect(messages[type].summary).toBe(SERVER_MESSAGE_DESCRIPTIONS[type]);
      for (const type of ALL_TYPES) {
        expect(messages[type].name).toBe(type);
        expect(messages[type].payload.properties.type.const).toBe(type);
        expect(messages[type].payload.required).toContain('type');
        for (const example of messages[type].examples) expect(checkSchema(example.payload, messages[type].payload)).toEqual([]);
      }
      expect(asyncapi.channels.websocket.address).toBe('/ws/realtime/');
      expect(asyncapi.channels.socketio.address).toBe('/realtime');
      for (const channel of ['websocket', 'socketio']) {
        expect(sorted(Object.keys(asyncapi.channels[channel].messages))).toEqual(sorted(ALL_TYPES));
        const ops = Object.values<any>(asyncapi.operations).filter((o) => o.channel.$ref === `#/channels/${channel}`);
        const of = (action: string) => sorted(ops.filter((o) => o.action === action).flatMap((o) => o.messages.map((m: any) => m.$ref.split('/').pop())));
        expect(of('receive')).toEqual(sorted(CLIENT_MESSAGE_TYPES));
        expect(of('send')).toEqual(sorted(SERVER_MESSAGE_TYPES));
      }
      expect(asyncapi.servers.websocket).toMatchObject({ host: `127.0.0.1:${t.port}`, protocol: 'ws', pathname: '/ws/realtime/' });
      expect(asyncapi.servers.socketio).toMatchObject({ host: `127.0.0.1:${t.port}`, pathname: '/socket.io' });
    });

    it('lists every error code, and the connection message', () => {
      const error = asyncapi.components.messages.error;
      // Socket.IO also sends the disconnect codes in the `error` event before it disconnects.
      expect(error.payload.properties.data.properties.code.enum).toEqual([...ERROR_CODES, ...DISCONNECT_CODES]);
      for (const code of [...ERROR_CODES, ...DISCONNECT_CODES]) expect(error.description).toContain(`\`${code}\``);
      const connection = asyncapi.components.messages.connection;
      expect(sorted(connection.payload.properties.data.required)).toEqual(
        sorted([
          'status',
          'connection_id',
          'authenticated',
          'user_id',
          'transport',
          'heartbeat_interval',
          'connection_timeout',
          'limits',
          'batch_ms',
          'server_time',
        ]),
      );
    });

    it.each(['websocket', 'socketio'] as const)('describes what the server really sends over %s (every frame fits its message schema)', async (kind) => {
      const messages = asyncapi.components.messages;
      // A Saturday on the market clock: subscribing to stocks also brings a `status` (market closed).
      t.app.get(MarketClock).pin(new Date('2026-01-17T17:00:00Z'));
      const probe: Probe =
        kind === 'websocket'
          ? await WsProbe.open(t.wsUrl, { cookie: demo.cookie, origin: t.url })
          : await IoProbe.open(t.url, { cookie: demo.cookie, origin: t.url });
      try {
        expect((await probe.next('connection')).data.authenticated).toBe(true);
        const exchange = async (type: string, data: unknown, id: number, reply: string, extra: string[] = []) => {
          const sent = { type, data, id };
          expect(checkSchema(sent, messages[type].payload), `sent ${type}`).toEqual([]);
          probe.send(type, data, id);
          await probe.next(reply, (m: Envelope) => m.id === id);
          for (const e of extra) await probe.next(e);
        };
        await exchange('ping', {}, 1, 'pong');
        await exchange('subscribe_asset', { symbols: ['AAPL', 'MSFT'] }, 2, 'subscribed', ['asset_update', 'asset_update', 'status']);
        await exchange('list_subscriptions', {}, 3, 'subscriptions');
        await exchange('set_options', { batch_ms: 0 }, 4, 'options');
        // The portfolio snapshot below then carries its positions (checked against the schema with the rest).
        await exchange('set_options', { portfolio_positions: true, portfolio_min_change_bps: 10 }, 40, 'options');
        await exchange('subscribe_portfolio', { portfolio_id: demo.portfolioId }, 5, 'subscribed', ['portfolio_update']);
        await exchange('unsubscribe_portfolio', { portfolio_id: demo.portfolioId }, 6, 'unsubscribed');
        await exchange('unsubscribe_asset', { symbol: 'MSFT' }, 7, 'unsubscribed');
        await exchange('subscribe_asset', { symbol: 'NOSUCH' }, 8, 'error');
        probe.send('subscribe_asset', { symbol: 'AAPL', symbols: ['MSFT'] }, 9);
        const invalid = await probe.next('error', (m) => m.id === 9);
        expect(invalid.data.code).toBe('VALIDATION_FAILED');
        const received = probe.inbox.received;
        expect(sorted(new Set(received.map((m) => m.type)))).toEqual(
          sorted(['connection', 'pong', 'subscribed', 'asset_update', 'status', 'subscriptions', 'options', 'portfolio_update', 'unsubscribed', 'error']),
        );
        for (const m of received) expect(checkSchema(m, messages[m.type].payload), `${m.type}: ${JSON.stringify(m)}`).toEqual([]);
      } finally {
        t.app.get(MarketClock).pin(null);
        await probe.close();
      }
    });

    it('describes the error event Socket.IO sends before it disconnects (PROTOCOL_ERRORS)', async () => {
      const probe = await IoProbe.open(t.url);
      try {
        await probe.next('connection');
        // WS_MAX_PROTOCOL_ERRORS (20) invalid messages within a minute: the error event, then the disconnect.
        for (let i = 0; i < 20; i++) probe.send('no_such_type', {}, i);
        const last = await probe.next('error', (m) => m.data.code === 'PROTOCOL_ERRORS');
        expect(checkSchema(last, asyncapi.components.messages.error.payload), JSON.stringify(last)).toEqual([]);
        expect((await probe.closed).reason).toBe('io server disconnect');
      } finally {
        await probe.close();
      }
    });
  });
});
