import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');

/** The shipped systemd units, checked by systemd's own parser (Debian's systemd; run by .ci/run). */
describe('docker/systemd units under systemd-analyze', () => {
  it.each(['realtime-markets-api.service', 'realtime-markets-price-feed.service'])('%s verifies without a warning', (name) => {
    expect(existsSync('/usr/bin/systemd-analyze'), 'systemd-analyze must be installed (Debian: systemd)').toBe(true);
    const r = spawnSync('systemd-analyze', ['verify', join(root, 'docker', 'systemd', name)], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    // Only complaints about this unit count (the host's own units may warn about themselves).
    const mine = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(name));
    expect(mine).toEqual([]);
  });
});
