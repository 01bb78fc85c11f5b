import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import pino from 'pino';
import { StartupError } from './startup-error';

type LogDestination = ReturnType<typeof pino.destination>;

/** The open LOG_FILE destinations of this process, by absolute path (one per file however many loggers write there). */
const files = new Map<string, LogDestination>();
let hangupHandler: (() => void) | undefined;

/** Why LOG_FILE cannot be used, as the paragraph the entry point prints (no stack). */
function unwritable(path: string, err: NodeJS.ErrnoException): StartupError {
  const who = typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : '';
  const why =
    err.code === 'EISDIR'
      ? 'it is a folder'
      : err.code === 'EACCES' || err.code === 'EPERM'
        ? 'permission denied'
        : err.code === 'ENOTDIR'
          ? 'a part of its folder path is a file'
          : err.code === 'EROFS'
            ? 'the file system is read-only'
            : (err.message ?? String(err));
  return new StartupError(
    `LOG_FILE=${path} cannot be written (${why}): log lines are appended there as JSON lines. Set LOG_FILE to a file that this user${who} ` +
      `may create or append to (its folder is created when missing), or unset LOG_FILE to log to stdout only.`,
  );
}

/**
 * The destination of LOG_FILE: checked now (its folder created, the file opened for appending;
 * an unwritable path is a StartupError naming LOG_FILE), then written asynchronously by pino and
 * reopened on SIGHUP, so logrotate can move it away and signal the process (no copytruncate needed).
 * Opened once per path per process.
 */
export function openLogFile(raw: string): LogDestination {
  const path = resolve(raw);
  const open = files.get(path);
  if (open) return open;
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    closeSync(openSync(path, 'a', 0o640));
  } catch (err) {
    throw unwritable(raw, err as NodeJS.ErrnoException);
  }
  const dest = pino.destination({ dest: path, sync: false, mkdir: true, mode: 0o640 });
  // A reopen that fails (the folder removed or made read-only meanwhile) is one line on stderr, not a crash.
  dest.on('error', (err: Error) => process.stderr.write(`LOG_FILE ${path}: ${err.message}\n`));
  files.set(path, dest);
  if (!hangupHandler) {
    hangupHandler = () => {
      for (const d of files.values()) d.reopen();
    };
    process.on('SIGHUP', hangupHandler);
  }
  return dest;
}
