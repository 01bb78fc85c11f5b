import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

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
});
