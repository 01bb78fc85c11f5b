import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = resolve(__dirname, '../..');

describe('docker/ deployment files', () => {
  it('compose file defines the services of the production layout', () => {
    const compose = parse(readFileSync(join(root, 'docker/docker-compose.yml'), 'utf8'), { merge: true });
    expect(Object.keys(compose.services).sort()).toEqual(['api-1', 'api-2', 'nginx', 'postgres', 'price-feed', 'redis']);
    expect(compose.services['api-1'].environment.PRICE_FEED_MODE).toBe('external');
    expect(compose.services['price-feed'].command).toEqual(['node', 'dist/price-feed.main.js', '--interval', '15', '--batch-size', '100']);
    expect(compose.services['api-1'].environment.REDIS_URL).toMatch(/^redis:\/\//);
  });

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
    mkdirSync(join(dir, 'conf.d'));
    // Compose service names do not resolve here: point the upstreams at loopback for the syntax check.
    writeFileSync(join(dir, 'conf.d/default.conf'), conf.replace(/server api-(\d):8000/g, 'server 127.0.0.1:800$1'));
    writeFileSync(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n include ${dir}/conf.d/*.conf;\n}\n`,
    );
    const out = execFileSync(nginx!, ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });
});
