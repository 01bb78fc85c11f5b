import { ConsoleLogger, LogLevel } from '@nestjs/common';
import type { EnvironmentVariables } from '../config/env.validation';
import { releaseEmbeddedPostgres } from '../database/embedded-postgres';
import { StartupError, wrapParagraph } from './startup-error';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * Nest's console logger (text for people, JSON lines for log shippers) that
 * leaves person-fixable start-up errors to the entry point: Nest logs every
 * error that escapes module initialisation with its stack, and `listen`
 * logs a refused port before rejecting; the entry point prints one paragraph instead.
 */
export class AppLogger extends ConsoleLogger {
  override error(message: unknown, ...rest: unknown[]): void {
    if (message instanceof StartupError) return;
    if (typeof message === 'string' && /^Error: listen (EADDRINUSE|EACCES|EADDRNOTAVAIL)/.test(message)) return;
    super.error(message, ...(rest as [string?, string?]));
  }
}

export function createAppLogger(env: Pick<EnvironmentVariables, 'LOG_LEVEL' | 'LOG_FORMAT'>, opts: { prefix?: string; level?: LogLevel } = {}): AppLogger {
  const level = opts.level ?? env.LOG_LEVEL;
  return new AppLogger({
    json: env.LOG_FORMAT === 'json',
    logLevels: LEVELS.slice(0, LEVELS.indexOf(level) + 1),
    colors: env.LOG_FORMAT !== 'json' && !!process.stdout.isTTY,
    ...(opts.prefix ? { prefix: opts.prefix } : {}),
  });
}

/**
 * How every entry point ends on an error: a person-fixable one as its paragraph
 * alone, anything else with its stack; the embedded PostgreSQL let go of; exit 1.
 */
export async function exitOnFatal(err: unknown, prefix = ''): Promise<never> {
  const text = err instanceof StartupError ? wrapParagraph(err.message) : ((err as Error)?.stack ?? String(err));
  await releaseEmbeddedPostgres().catch(() => undefined);
  process.stderr.write(`${prefix}${text}\n`);
  process.exit(1);
}
