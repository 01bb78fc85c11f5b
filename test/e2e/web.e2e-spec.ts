import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../browser/support/browser';
import { startTestApp, type TestApp } from '../support/app';

/** WebModule: the built pages under /realtime/, next to (never over) the realtime REST routes. */
describe('web pages served by the app', () => {
  let app: TestApp;

  beforeAll(async () => {
    ensureWebBuilt();
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  const assetsOf = (html: string) =>
    [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((u) => !u.startsWith('data:') && !u.startsWith('#'));

  it.each([
    ['/realtime/dashboard/', 'Dashboard'],
    ['/realtime/test/', 'Connection tester'],
  ])('serves %s with its bundles, all from this server (works offline)', async (path, title) => {
    const res = await request(app.url).get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.text).toContain(title);
    const refs = assetsOf(res.text).filter((u) => u.startsWith('/realtime/assets/'));
    expect(refs.some((u) => u.endsWith('.js'))).toBe(true);
    expect(refs.some((u) => u.endsWith('.css'))).toBe(true);
    // Nothing the page loads comes from elsewhere (only plain links may point out).
    const external = [...res.text.matchAll(/<(script|link|img|iframe)\b[^>]*(?:src|href)="(https?:)?\/\//g)];
    expect(external).toEqual([]);
    for (const ref of refs) {
      const asset = await request(app.url)
        .get(ref)
        .buffer(true)
        .parse((res, cb) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (data += c));
          res.on('end', () => cb(null, data));
        });
      expect(asset.status, ref).toBe(200);
      expect(asset.headers['cache-control']).toMatch(/immutable/);
      const body = asset.body as string;
      expect(body.length).toBeGreaterThan(1000);
      expect(body).not.toMatch(/@import\s+url\(["']?https?:/);
      expect(body).not.toMatch(/fonts\.googleapis|unpkg\.com|cdn\.jsdelivr/);
    }
  });

  it('adds the trailing slash and leads / and /realtime/ to the dashboard', async () => {
    const bare = await request(app.url).get('/realtime/dashboard');
    expect(bare.status).toBe(301);
    expect(bare.headers.location).toBe('/realtime/dashboard/');
    const root = await request(app.url).get('/realtime/');
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/realtime/dashboard/');
    // A newcomer opening http://localhost:8000/ lands on the dashboard too.
    const site = await request(app.url).get('/');
    expect(site.status).toBe(302);
    expect(site.headers.location).toBe('/realtime/dashboard/');
  });

  it('does not shadow the realtime REST routes or the API 404s', async () => {
    const status = await request(app.url).get('/realtime/status/');
    expect(status.status).toBe(200);
    expect(status.body).toHaveProperty('service_status');
    const info = await request(app.url).get('/realtime/websocket-info/');
    expect(info.status).toBe(200);
    expect(info.body).toHaveProperty('websocket_url');
    const missing = await request(app.url).get('/realtime/dashboard/no-such-file.js');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ statusCode: 404, error: 'NOT_FOUND' });
    const post = await request(app.url).post('/realtime/dashboard/').send({});
    expect(post.status).toBe(404);
  });
});
