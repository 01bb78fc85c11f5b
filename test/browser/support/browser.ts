import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app';
import { poll } from '../../support/poll';

export const ROOT = resolve(__dirname, '..', '..', '..');
export const SCREENSHOT_DIR = join(ROOT, 'test-output', 'screenshots');

/**
 * Builds the pages when stale (never dist/, which other test files run meanwhile), through
 * the project's build-if-stale script and its lock; normally `npm test`'s pretest has built them.
 */
export function ensureWebBuilt(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-if-stale.mjs'), '--quiet', '--pages'], { cwd: ROOT, stdio: 'pipe', timeout: 300_000 });
}

/** Debian's Chromium (`apt-get install chromium`). */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for every Chromium we launch. The npm one (@sparticuz/chromium, built as
 * chrome-headless-shell for AWS Lambda) needs nothing more here: its own `args`
 * (--single-process, --no-zygote, --headless='shell', swiftshader, ...) are for
 * Lambda's sandbox-less, memory-starved runtime, and Playwright adds --headless.
 */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-gpu'];

/**
 * Environment of the npm Chromium: deliberately the C locale of containers and CI.
 * chrome-headless-shell then reports navigator.language as "en-US@posix", which
 * Intl rejects ("Invalid language tag"); the pages must work anyway (the
 * dashboard's chart is given its locale, web/src/dashboard/sparkline.ts), and
 * the browser tests on this Chromium prove it.
 */
const npmChromiumEnv = () => ({ ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' });

/** Which Chromium the browser tests use, and why. */
export type BrowserExecutable =
  | { source: 'CHROMIUM_PATH'; path: string }
  | { source: 'debian'; path: string }
  /** @sparticuz/chromium's binary, extracted at launch; `forced` by TEST_BROWSER=npm, else the fallback. */
  | { source: 'npm'; forced: boolean };

/** True when `path` is an executable file. */
export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The choice, from the environment alone (`exists` says whether a path is an
 * executable file):
 * 1. CHROMIUM_PATH when set (it must exist);
 * 2. else Debian's /usr/bin/chromium when it exists, unless TEST_BROWSER=npm;
 * 3. else the Chromium shipped in the npm package @sparticuz/chromium.
 * TEST_BROWSER may only be unset or `npm`.
 */
export function chooseBrowserExecutable(env: NodeJS.ProcessEnv, exists: (path: string) => boolean): BrowserExecutable {
  const testBrowser = env.TEST_BROWSER?.trim() ?? '';
  if (testBrowser !== '' && testBrowser !== 'npm') {
    throw new Error(
      `TEST_BROWSER=${testBrowser} is not understood: leave it unset (Debian's ${DEBIAN_CHROMIUM} if installed, else the npm @sparticuz/chromium) or set TEST_BROWSER=npm`,
    );
  }
  const custom = env.CHROMIUM_PATH?.trim();
  if (custom) {
    if (!exists(custom)) throw new Error(`CHROMIUM_PATH=${custom} is not an executable file: point it at a Chromium binary, or unset it`);
    return { source: 'CHROMIUM_PATH', path: custom };
  }
  if (testBrowser === 'npm') return { source: 'npm', forced: true };
  if (exists(DEBIAN_CHROMIUM)) return { source: 'debian', path: DEBIAN_CHROMIUM };
  return { source: 'npm', forced: false };
}

/** Folder of the installed @sparticuz/chromium package. */
function npmChromiumDir(): string {
  // The package's exports hide package.json; its CommonJS entry is build/cjs/index.cjs.
  return resolve(dirname(createRequire(__filename).resolve('@sparticuz/chromium')), '..', '..');
}

/** Version of the installed @sparticuz/chromium package (its major is Chromium's major). */
export function npmChromiumVersion(): string {
  return (JSON.parse(readFileSync(join(npmChromiumDir(), 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Where the npm Chromium is extracted: a folder of this user's under the temp
 * folder. The package extracts to `<tmpdir>/chromium`; a copy another user
 * extracted there is not executable by this one (EACCES), so each user gets
 * their own (the package reads TMPDIR, set while it extracts).
 */
export function npmChromiumHome(): string {
  return join(tmpdir(), `rm-chromium-${process.getuid?.() ?? 'user'}`);
}

/**
 * Extracts @sparticuz/chromium's binary (once per user and machine) and returns
 * its path. Extraction is serialised across processes by a lock folder: the
 * package returns the binary as soon as the file exists, so a second test run
 * extracting at the same time would launch a half-written file.
 */
export async function npmChromiumExecutable(): Promise<string> {
  const home = npmChromiumHome();
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const lock = join(home, 'extract.lock');
  const deadline = Date.now() + 120_000;
  let locked = false;
  for (let i = 0; i < 1_500 && !locked; i++) {
    try {
      mkdirSync(lock);
      locked = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a killed process: extraction takes seconds, not minutes.
      const st = statSync(lock, { throwIfNoEntry: false });
      const age = st ? Date.now() - st.mtimeMs : 0;
      if (age > 120_000) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) break;
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!locked) throw new Error(`the lock ${lock} of the @sparticuz/chromium extraction was held for 2 minutes`);
  try {
    const { default: Chromium } = await import('@sparticuz/chromium');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = home;
    try {
      return await Chromium.executablePath();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

const oneLine = (err: unknown) => {
  const lines = (err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim());
  // Playwright's first line is generic; Chromium's own complaint is a "[pid=N][err] ..." line of the launch log.
  const why = lines.find((l) => /\[err\]/.test(l) && !/^\s*$/.test(l.replace(/^.*\[err\]/, '')));
  return [lines[0], why?.replace(/^.*\[err\]\s*/, '')].filter(Boolean).join(': ').slice(0, 400);
};

export interface LaunchOptions {
  env?: NodeJS.ProcessEnv;
  exists?: (path: string) => boolean;
  /** Where the npm Chromium is (default: extract @sparticuz/chromium). */
  npmExecutable?: () => Promise<string>;
}

/** Launches the Chromium chooseBrowserExecutable() picks and says which one it is. */
export async function launchChosenBrowser(opts: LaunchOptions = {}): Promise<{ browser: Browser; executable: BrowserExecutable; path: string }> {
  const executable = chooseBrowserExecutable(opts.env ?? process.env, opts.exists ?? isExecutableFile);
  if (executable.source !== 'npm') {
    const browser = await chromium.launch({ executablePath: executable.path, args: CHROMIUM_ARGS });
    return { browser, executable, path: executable.path };
  }
  const why = executable.forced ? 'TEST_BROWSER=npm' : `no ${DEBIAN_CHROMIUM} and no CHROMIUM_PATH`;
  let version = '?';
  let path: string | undefined;
  try {
    version = npmChromiumVersion();
    path = await (opts.npmExecutable ?? npmChromiumExecutable)();
    const browser = await chromium.launch({ executablePath: path, args: CHROMIUM_ARGS, env: npmChromiumEnv(), timeout: 30_000 });
    return { browser, executable, path };
  } catch (err) {
    // The package reuses an extracted binary as is: a broken one (e.g. an extraction killed half-way) stays until deleted.
    const retry = path === join(npmChromiumHome(), 'chromium') ? `delete ${path} to extract it again, ` : '';
    throw new Error(
      `${why}: the Chromium of the npm package @sparticuz/chromium ${version}${path ? ` (${path})` : ''} did not start: ${oneLine(err)} ` +
        `(${retry}or install Debian's: apt-get install chromium, or set CHROMIUM_PATH)`,
    );
  }
}

/** The browser of the browser tests: CHROMIUM_PATH, else Debian's Chromium, else the npm one (see chooseBrowserExecutable). */
export async function launchBrowser(): Promise<Browser> {
  return (await launchChosenBrowser()).browser;
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

/** The tests' one polling helper (test/support/poll.ts). */
export { poll };

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

/** A calendar day `n` days before today (UTC, the server's "today"), as YYYY-MM-DD. */
export const daysAgo = (n: number): string => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

/** Opens the dashboard in a new context of `browser` and waits for its connection indicator to say Live. */
export async function openDashboard(
  browser: Browser,
  appUrl: string,
  viewport = { width: 1280, height: 900 },
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = watchPageErrors(page);
  await page.goto(`${appUrl}/realtime/dashboard/`);
  await waitLive(page);
  return { context, page, errors };
}

/** Waits for the page's connection indicator to say Live. */
export async function waitLive(page: Page): Promise<void> {
  await poll('the connection indicator to say Live', async () => (await page.getByTestId('connection-label').textContent()) === 'Live');
}

/** Logs the seeded demo user in through the dashboard's form and waits for its name to show. */
export async function loginDemo(page: Page): Promise<void> {
  await page.locator('#login-form input[name="username"]').fill('demo');
  await page.locator('#login-form input[name="password"]').fill('demo-password');
  await page.locator('#login-form button[type="submit"]').click();
  await poll('the user name', async () => (await page.getByTestId('user-name').textContent()) === 'demo');
}
