import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app';

export const ROOT = resolve(__dirname, '..', '..', '..');
const DIST = join(ROOT, 'web', 'dist');
const SOURCES = [join(ROOT, 'web', 'src'), join(ROOT, 'web', 'dashboard'), join(ROOT, 'web', 'test'), join(ROOT, 'web', 'vite.config.ts'), join(ROOT, 'client')];
export const SCREENSHOT_DIR = join(ROOT, 'test-output', 'screenshots');

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/**
 * Builds web/dist once when it is missing or older than its sources (CI's
 * `npm run build` has normally built it already). Never per test.
 */
export function ensureWebBuilt(): void {
  const pages = [join(DIST, 'dashboard', 'index.html'), join(DIST, 'test', 'index.html')];
  const builtAt = Math.min(...pages.map((p) => (existsSync(p) ? statSync(p).mtimeMs : 0)));
  const sourcesAt = Math.max(...SOURCES.map(newestMtime));
  if (builtAt > 0 && builtAt >= sourcesAt) return;
  const lock = join(ROOT, 'web', '.build-lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`web build lock ${lock} held for 2 minutes`);
      execFileSync('sleep', ['0.5']);
    }
  }
  try {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'vite'), ['build', '--config', 'web/vite.config.ts'], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
  } finally {
    rmdirSync(lock);
  }
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu'],
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export async function saveDocScreenshot(page: Page, relPath: string): Promise<void> {
  const path = join(ROOT, relPath);
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
}

/** Polls `fn` until it returns a truthy value; bounded in time and count. */
export async function poll<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < Math.ceil(timeoutMs / everyMs) + 1; i++) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/**
 * Collects page errors, console errors and failed same-origin requests (404,
 * 5xx; a 401 from /auth/me is how an anonymous visitor is recognised) so a
 * test can assert the page ran clean.
 */
export function watchPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // Chromium logs every non-2xx response as "Failed to load resource"; responses are judged below.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(`console: ${msg.text()}`);
  });
  page.on('response', (res) => {
    const status = res.status();
    const url = new URL(res.url());
    if (status === 401 && url.pathname === '/auth/me') return;
    if (status === 404 || status >= 500) errors.push(`HTTP ${status} ${res.request().method()} ${url.pathname}${url.search}`);
  });
  page.on('requestfailed', (req) => {
    const url = new URL(req.url());
    if (url.protocol.startsWith('http')) errors.push(`request failed: ${req.method()} ${url.pathname} (${req.failure()?.errorText ?? '?'})`);
  });
  return errors;
}

/** Parses "$12,345.67" / "+1,234.50" / "−3.2" into a number. */
export function parseShown(text: string | null): number {
  if (!text) return Number.NaN;
  const neg = /[−-]/.test(text);
  const n = Number(text.replace(/[^0-9.]/g, ''));
  return neg ? -n : n;
}

/** Settings of the app under a browser test: the in-process simulated market ticking every 0.5 s. */
export const LIVE_APP_ENV = { PRICE_FEED_MODE: 'inprocess', REALTIME_UPDATE_INTERVAL: '0.5' };

/**
 * Registers the suite's hooks: builds the pages if needed, starts the real app
 * and Chromium before the tests, closes both after. `app` may be replaced by a
 * test (a restart); the one current at the end is closed.
 */
export function useLiveBrowserApp(): { app: TestApp; browser: Browser } {
  const s = {} as { app: TestApp; browser: Browser };
  beforeAll(async () => {
    ensureWebBuilt();
    s.app = await startTestApp(LIVE_APP_ENV);
    s.browser = await launchBrowser();
  });
  afterAll(async () => {
    await s.browser?.close();
    await s.app?.close();
  });
  return s;
}
