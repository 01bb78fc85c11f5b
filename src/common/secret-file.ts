import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StartupError } from './startup-error';

export interface SecretFile {
  secret: string;
  /** True when this call generated the file (the caller says so once, in its own words). */
  created: boolean;
}

/** Errors of link(2) that mean "this filesystem has no hard links": fall back to an exclusive create. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/**
 * A development secret kept in a file under DATA_DIR (`session-secret`, `bus-secret`):
 * read when it exists, otherwise generated once (48 random bytes, base64url, mode 0600).
 *
 * Processes sharing the folder (the API, the feed process, a CLI command started at the
 * same moment) always agree on one secret: the file is written complete under a temporary
 * name and then hard-linked to its final name, which fails when another process got there
 * first; that process's secret is then read. Nobody ever reads a half-written file.
 *
 * Throws a StartupError (one paragraph, no stack) naming the file when it cannot be
 * read or written, or holds nothing.
 */
export function readOrCreateSecretFile(file: string, setting: string): SecretFile {
  const existing = readSecret(file, setting);
  if (existing !== undefined) return { secret: existing, created: false };

  const secret = randomBytes(48).toString('base64url');
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, secret, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, file);
      return { secret, created: true };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') return { secret: readSecret(file, setting) ?? fail(file, setting, 'it is empty'), created: false };
      if (!NO_LINKS.has(code)) throw err;
    }
    // No hard links here: an exclusive create (another process may then briefly see it empty).
    try {
      writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
      return { secret, created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return { secret: readSecret(file, setting) ?? fail(file, setting, 'it is empty'), created: false };
    }
  } catch (err) {
    if (err instanceof StartupError) throw err;
    return fail(file, setting, `it cannot be written (${(err as Error).message})`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already gone
    }
  }
}

/** The trimmed content, undefined when the file does not exist. */
function readSecret(file: string, setting: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return fail(file, setting, `it cannot be read (${(err as Error).message})`);
  }
  const secret = text.trim();
  return secret || fail(file, setting, 'it is empty');
}

function fail(file: string, setting: string, why: string): never {
  throw new StartupError(
    `${setting} is not set, so this process uses the secret generated in ${file}, but ${why}. ` +
      `Set ${setting} (at least 32 characters), or fix or delete that file (a new one is then generated).`,
  );
}
