import { readFileSync } from 'node:fs';
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
});
