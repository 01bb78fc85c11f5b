import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chooseBrowserExecutable,
  DEBIAN_CHROMIUM,
  isExecutableFile,
  launchChosenBrowser,
  npmChromiumHome,
  npmChromiumVersion,
  type BrowserExecutable,
} from './support/browser';

/** An `exists` that knows only `paths` (and records what it was asked). */
function only(...paths: string[]) {
  const asked: string[] = [];
  const exists = (p: string) => {
    asked.push(p);
    return paths.includes(p);
  };
  return Object.assign(exists, { asked });
}

const major = (version: string) => Number(version.split('.')[0]);

async function launchError(p: Promise<unknown>): Promise<Error> {
  const settled = await p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  if (settled.ok) throw new Error('expected the launch to fail');
  expect(settled.e).toBeInstanceOf(Error);
  return settled.e as Error;
}

describe('chooseBrowserExecutable', () => {
  it("uses Debian's Chromium when it is installed and nothing is set", () => {
    const exists = only(DEBIAN_CHROMIUM);
    expect(chooseBrowserExecutable({}, exists)).toEqual<BrowserExecutable>({ source: 'debian', path: '/usr/bin/chromium' });
    expect(exists.asked).toEqual(['/usr/bin/chromium']);
  });

  it("falls back to the npm Chromium when Debian's is missing", () => {
    expect(chooseBrowserExecutable({}, only())).toEqual<BrowserExecutable>({ source: 'npm', forced: false });
    expect(chooseBrowserExecutable({ CHROMIUM_PATH: '', TEST_BROWSER: '' }, only())).toEqual<BrowserExecutable>({ source: 'npm', forced: false });
  });

  it("TEST_BROWSER=npm forces the npm Chromium even when Debian's is installed", () => {
    const exists = only(DEBIAN_CHROMIUM);
    expect(chooseBrowserExecutable({ TEST_BROWSER: 'npm' }, exists)).toEqual<BrowserExecutable>({ source: 'npm', forced: true });
    expect(exists.asked).toEqual([]);
  });

  it('CHROMIUM_PATH wins over everything, and must exist', () => {
    const exists = only(DEBIAN_CHROMIUM, '/opt/chrome/chrome');
    expect(chooseBrowserExecutable({ CHROMIUM_PATH: '/opt/chrome/chrome' }, exists)).toEqual<BrowserExecutable>({
      source: 'CHROMIUM_PATH',
      path: '/opt/chrome/chrome',
    });
    expect(chooseBrowserExecutable({ CHROMIUM_PATH: '/opt/chrome/chrome', TEST_BROWSER: 'npm' }, exists)).toEqual<BrowserExecutable>({
      source: 'CHROMIUM_PATH',
      path: '/opt/chrome/chrome',
    });
    expect(() => chooseBrowserExecutable({ CHROMIUM_PATH: '/nowhere/chrome' }, exists)).toThrow(/^CHROMIUM_PATH=\/nowhere\/chrome is not an executable file/);
  });

  it('refuses a TEST_BROWSER it does not know, naming it', () => {
    expect(() => chooseBrowserExecutable({ TEST_BROWSER: 'debian' }, only(DEBIAN_CHROMIUM))).toThrow(/^TEST_BROWSER=debian is not understood/);
  });

  it('isExecutableFile: true for an executable file only', () => {
    expect(isExecutableFile(process.execPath)).toBe(true);
    expect(isExecutableFile(tmpdir())).toBe(false);
    expect(isExecutableFile(join(tmpdir(), 'no-such-chromium-here'))).toBe(false);
  });
});

describe('launching Chromium', () => {
  it(`TEST_BROWSER=npm launches the Chromium of @sparticuz/chromium (major ${major(npmChromiumVersion())}), and it renders a page`, async () => {
    const { browser, executable, path } = await launchChosenBrowser({ env: { TEST_BROWSER: 'npm' } });
    try {
      expect(executable).toEqual({ source: 'npm', forced: true });
      expect(path).toBe(join(npmChromiumHome(), 'chromium'));
      expect(major(browser.version())).toBe(major(npmChromiumVersion()));
      const page = await browser.newPage();
      await page.setContent('<p id="p">rendered</p><script>document.title = String(6 * 7)</script>');
      expect(await page.title()).toBe('42');
      expect(await page.locator('#p').textContent()).toBe('rendered');
    } finally {
      await browser.close();
    }
  });

  it('the browser the other browser tests get is the one the environment chooses', async () => {
    const chosen = chooseBrowserExecutable(process.env, isExecutableFile);
    const { browser, executable, path } = await launchChosenBrowser();
    try {
      expect(executable).toEqual(chosen);
      if (chosen.source === 'npm') {
        expect(major(browser.version())).toBe(major(npmChromiumVersion()));
      } else {
        expect(path).toBe(chosen.path);
        expect(execFileSync(chosen.path, ['--version'], { encoding: 'utf8', timeout: 30_000 })).toContain(browser.version());
      }
    } finally {
      await browser.close();
    }
  });

  it('an npm Chromium that cannot start is one clear line naming TEST_BROWSER=npm and what Chromium said', async () => {
    // A "Chromium" that fails the way a binary missing its shared libraries does.
    const dir = mkdtempSync(join(tmpdir(), 'rm-fake-chromium-'));
    const fake = join(dir, 'chromium');
    writeFileSync(fake, '#!/bin/sh\necho "chromium: error while loading shared libraries: libnss3.so: cannot open shared object file" >&2\nexit 127\n', {
      mode: 0o755,
    });
    try {
      const err = await launchError(launchChosenBrowser({ env: { TEST_BROWSER: 'npm' }, npmExecutable: async () => fake }));
      expect(err.message).toMatch(/^TEST_BROWSER=npm: the Chromium of the npm package @sparticuz\/chromium \d+\.\d+\.\d+ \(.*\) did not start: /);
      expect(err.message).toContain(`(${fake})`);
      expect(err.message).toContain('error while loading shared libraries: libnss3.so');
      expect(err.message).not.toContain('\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the fallback says why it used the npm Chromium when that cannot start, in one line', async () => {
    const err = await launchError(
      launchChosenBrowser({
        env: {},
        exists: only(),
        npmExecutable: () => Promise.reject(new Error('The input directory "/x/bin" does not exist.\nPlease provide the location of the brotli files.')),
      }),
    );
    expect(err.message).toMatch(
      /^no \/usr\/bin\/chromium and no CHROMIUM_PATH: the Chromium of the npm package @sparticuz\/chromium .* did not start: The input directory/,
    );
    expect(err.message).not.toContain('\n');
  });
});
