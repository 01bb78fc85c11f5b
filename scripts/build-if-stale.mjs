// `npm start` and the CLI scripts run this first: it builds (server and pages) only when a
// source file is newer than the build, so a warm start serves in about two seconds and a
// command in a second terminal does not rebuild under a running server.
// --quiet: print nothing when the build is up to date (the CLI scripts).
// --pages: only the pages (web/dist from web/ and client/), never dist/: what the browser tests
// need, safe while other tests run the built server.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// The oldest Node.js every dependency supports (package.json "engines"); checked before anything loads.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(
    `This project needs Node.js 20.19 or newer, and this is Node.js ${process.versions.node}: install a current LTS release (https://nodejs.org) and run npm install again.`,
  );
  process.exit(1);
}
const { build, root, withBuildLock } = await import('./build.mjs');

const quiet = process.argv.includes('--quiet');
const pagesOnly = process.argv.includes('--pages');
const PAGES = ['web/dist/dashboard/index.html', 'web/dist/test/index.html'];
const SOURCES = pagesOnly
  ? ['client', 'web', 'package-lock.json']
  : ['src', 'client', 'web', 'package.json', 'package-lock.json', 'tsconfig.json', 'nest-cli.json'];
const SKIP = new Set(['dist', 'node_modules']);
const OUTPUTS = pagesOnly ? PAGES : ['dist/main.js', 'dist/price-feed.main.js', 'dist/cli.main.js', ...PAGES];

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) {
    if (SKIP.has(name)) continue;
    max = Math.max(max, newest(join(path, name)));
  }
  return max;
}

/** Why a build is needed ('missing' or 'changed'), or undefined when the outputs are current. */
function staleness() {
  const outputs = OUTPUTS.map((p) => join(root, p));
  if (outputs.some((p) => !existsSync(p))) return 'missing';
  const builtAt = Math.min(...outputs.map((p) => statSync(p).mtimeMs));
  const changedAt = Math.max(
    ...SOURCES.map((p) => join(root, p))
      .filter(existsSync)
      .map(newest),
  );
  return builtAt >= changedAt ? undefined : 'changed';
}

try {
  await withBuildLock(async () => {
    // Checked under the lock: a build another terminal just finished counts.
    const why = staleness();
    if (!why) {
      if (!quiet) console.log('Build is up to date.');
      return;
    }
    const what = pagesOnly ? 'the pages' : 'the server and the pages';
    console.log(why === 'missing' ? `No build yet: building ${what} (about 30 s, once)…` : `Sources changed since the last build: building ${what}…`);
    build({ pagesOnly });
  });
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
