import 'reflect-metadata';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/database/embedded-postgres';
import { startTestApp } from '../support/app';
import { poll } from '../support/poll';
import { addAssets, publishTicks, tick } from '../support/realtime-fixtures';
import { SseProbe } from '../support/sse-probe';

const root = resolve(__dirname, '../..');

/** The shipped nginx config under Debian's nginx (installed by .ci/run; not part of `npm test`). */
describe('docker/nginx.conf under a real nginx', () => {
  it('nginx config passes `nginx -t` with WebSocket upgrade headers on /ws/ and /socket.io/', () => {
    const conf = readFileSync(join(root, 'docker/nginx.conf'), 'utf8');
    for (const loc of ['/ws/', '/socket.io/']) {
      const block = conf.slice(conf.indexOf(`location ${loc}`));
      expect(block).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
      expect(block).toMatch(/proxy_read_timeout 86400;/);
    }
    const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
    expect(nginx, 'nginx must be installed (.ci/run installs it)').toBeTruthy();
    const dir = mkdtempSync(join(tmpdir(), 'nginx-t-'));
    try {
      mkdirSync(join(dir, 'conf.d'));
      // Compose service names do not resolve here: point the upstreams at loopback for the syntax check.
      writeFileSync(join(dir, 'conf.d/default.conf'), conf.replace(/server api-(\d):8000/g, 'server 127.0.0.1:800$1'));
      writeFileSync(
        join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n access_log ${dir}/access.log;\n include ${dir}/conf.d/*.conf;\n}\n`,
      );
      const out = execFileSync(nginx!, ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    'streams Server-Sent Events through nginx unbuffered (the stream starts, a live update arrives at once) and forwards request ids',
    { timeout: 120_000 },
    async () => {
      const conf = readFileSync(join(root, 'docker/nginx.conf'), 'utf8');
      const block = conf.slice(conf.indexOf('location /realtime/sse'));
      for (const line of [
        'proxy_buffering off;',
        'proxy_cache off;',
        'proxy_read_timeout 1h;',
        'proxy_http_version 1.1;',
        'proxy_set_header Connection "";',
        'proxy_set_header X-Request-Id $req_id;',
      ]) {
        expect(block.slice(0, block.indexOf('}'))).toContain(line);
      }
      const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
      expect(nginx, 'nginx must be installed (.ci/run installs it)').toBeTruthy();
      const app = await startTestApp();
      const dir = mkdtempSync(join(tmpdir(), 'nginx-sse-'));
      chmodSync(dir, 0o755); // nginx's workers run as an unprivileged user
      const port = await freePort();
      const proc = spawn(nginx!, ['-c', nginxConfig(dir, conf, port, app.port), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stream: SseProbe | undefined;
      try {
        const base = `http://127.0.0.1:${port}`;
        await poll('nginx to answer', async () => (await fetch(`${base}/health`, { signal: AbortSignal.timeout(2_000) })).status === 200, 20_000, 100);
        // Request ids: the client's own is passed through; without one, nginx's $request_id reaches the API (which echoes it).
        const traced = await fetch(`${base}/health`, { headers: { 'x-request-id': 'trace-abc-123' }, signal: AbortSignal.timeout(2_000) });
        expect(traced.headers.get('x-request-id')).toBe('trace-abc-123');
        const ids = new Set<string | null>();
        for (let i = 0; i < 2; i++) ids.add((await fetch(`${base}/health`, { signal: AbortSignal.timeout(2_000) })).headers.get('x-request-id'));
        expect([...ids].every((id) => /^[0-9a-f]{32}$/.test(id ?? ''))).toBe(true); // nginx's, not the API's own UUIDs
        expect(ids.size).toBe(2);
        await addAssets(app, ['NGXSSE']);
        // A buffering proxy would hold these first small events back (a few hundred bytes, far below its buffers).
        stream = await SseProbe.open(`${base}/realtime/sse?symbols=NGXSSE`);
        expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
        expect(stream.headers.get('cache-control')).toBe('no-cache, no-transform');
        expect((await stream.next('connection', () => true, 3_000)).data.transport).toBe('sse');
        expect((await stream.next('subscribed', () => true, 3_000)).data.assets).toEqual(['NGXSSE']);
        await stream.next('asset_update', () => true, 3_000);
        const sent = Date.now();
        await publishTicks(app, [tick('NGXSSE', '123.45')]);
        const live = await stream.next('asset_update', (m) => m.data.price === 123.45, 3_000);
        expect(Date.now() - sent).toBeLessThan(1_000);
        expect(live.event.id).toMatch(/^NGXSSE:\d+$/);
        // Its client messages go through the same location, to the same instance.
        expect((await stream.post({ type: 'ping', data: {}, id: 'via-nginx' })).status).toBe(202);
        await stream.next('pong', (m) => m.id === 'via-nginx', 3_000);
      } finally {
        await stream?.close();
        proc.kill('SIGTERM');
        await app.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

/** docker/nginx.conf with both upstream servers on `apiPort`, listening on `port`, and its own temp paths under `dir`. */
function nginxConfig(dir: string, site: string, port: number, apiPort: number): string {
  expect(site).toMatch(/listen 80;/);
  const local = site.replace(/server api-(\d):8000/g, `server 127.0.0.1:${apiPort}`).replace(/listen 80;/, `listen 127.0.0.1:${port};`);
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  writeFileSync(join(dir, 'conf.d', 'default.conf'), local);
  const main = [
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'daemon off;',
    'events {}',
    'http {',
    `  access_log ${dir}/access.log;`,
    `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
    `  include ${dir}/conf.d/*.conf;`,
    '}',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), main);
  return join(dir, 'nginx.conf');
}
