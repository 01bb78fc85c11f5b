import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeProcess, requireBuild } from '../support/node-process';

const BUILT = resolve(__dirname, '../../dist/common/shutdown-signals.js');

/**
 * An entry point's signal handling, in a real process (the built class): a service manager's
 * SIGTERM that arrives while the app is still starting (between the feed's "Price feed started"
 * and the app being up, say) waits for the start-up and stops gracefully with exit code 0;
 * Ctrl-C during start-up exits at once with 130.
 */
describe('ShutdownSignals during start-up', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rm-signals-'));
  // A start-up that finishes when the test says so (SIGUSR2), so the signal lands inside it for sure.
  const script = join(dir, 'entry.js');
  writeFileSync(
    script,
    `const { ShutdownSignals } = require(${JSON.stringify(BUILT)});
const log = { log: (m) => console.log(m), warn: (m) => console.log(m), error: (m) => console.log(m) };
const signals = new ShutdownSignals(log, (signal) => signal + ' received');
process.on('SIGUSR2', () => {
  console.log('up');
  signals.whenUp(async () => console.log('stopped gracefully'));
});
setInterval(() => undefined, 1000);
console.log('starting');
`,
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SIGTERM while starting: waits for the app to be up, then stops it and exits 0', async () => {
    requireBuild();
    const p = new NodeProcess(script, {});
    await p.waitFor(/^starting$/);
    p.kill('SIGTERM');
    await p.waitFor(/^SIGTERM received$/);
    expect(p.child.exitCode).toBeNull(); // still waiting for the start-up
    p.kill('SIGUSR2');
    const { code } = await p.exit();
    expect(code).toBe(0);
    expect(p.lines).toEqual(['starting', 'SIGTERM received', 'up', 'stopped gracefully']);
  });

  it('Ctrl-C while starting exits at once with 130; after start-up SIGTERM stops gracefully with 0', async () => {
    const early = new NodeProcess(script, {});
    await early.waitFor(/^starting$/);
    early.kill('SIGINT');
    expect((await early.exit()).code).toBe(130);
    expect(early.output).not.toMatch(/stopped gracefully/);

    const late = new NodeProcess(script, {});
    await late.waitFor(/^starting$/);
    late.kill('SIGUSR2');
    await late.waitFor(/^up$/);
    late.kill('SIGTERM');
    expect((await late.exit()).code).toBe(0);
    expect(late.lines).toEqual(['starting', 'up', 'SIGTERM received', 'stopped gracefully']);
  });
});
