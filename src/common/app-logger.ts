import { ConsoleLogger, ConsoleLoggerOptions, LoggerService, LogLevel } from '@nestjs/common';
import type { EnvironmentVariables } from '../config/env.validation';
import { releaseEmbeddedPostgres } from '../database/embedded-postgres';
import { openLogFile } from './log-file';
import { createPino, isLeftToEntryPoint, NEST_LEVELS, PinoLoggerService } from './pino-logger';
import { StartupError, wrapParagraph } from './startup-error';

/** What the logging of a process is built from (the validated settings). */
export type LoggingEnv = Pick<EnvironmentVariables, 'LOG_LEVEL' | 'LOG_FORMAT' | 'NODE_ENV' | 'LOG_FILE'>;

/** LOG_FORMAT, or when unset: JSON lines in production, text for people otherwise. */
export function logFormat(env: Pick<EnvironmentVariables, 'LOG_FORMAT' | 'NODE_ENV'>): 'text' | 'json' {
  return env.LOG_FORMAT ?? (env.NODE_ENV === 'production' ? 'json' : 'text');
}

/** Correlation ids a text line already shows in its wording ("Closing connection <id>"); JSON lines carry them as fields. */
const TEXT_HIDDEN_FIELDS = ['connection_id', 'req_id'];

/**
 * Nest's console logger, for people (LOG_FORMAT=text), that leaves person-fixable start-up
 * errors to the entry point: Nest logs every error that escapes module initialisation with its
 * stack, and `listen` logs a refused port before rejecting; the entry point prints one paragraph
 * instead. With LOG_FILE, every record is also appended to that file as a JSON line (`mirror`).
 */
export class AppLogger extends ConsoleLogger {
  constructor(
    options: ConsoleLoggerOptions,
    private readonly mirror?: LoggerService,
  ) {
    super(options);
  }

  override log(message: unknown, ...rest: unknown[]): void {
    super.log(message, ...rest);
    this.mirror?.log(message, ...rest);
  }
  override warn(message: unknown, ...rest: unknown[]): void {
    super.warn(message, ...rest);
    this.mirror?.warn(message, ...rest);
  }
  override debug(message: unknown, ...rest: unknown[]): void {
    super.debug(message, ...rest);
    this.mirror?.debug?.(message, ...rest);
  }
  override verbose(message: unknown, ...rest: unknown[]): void {
    super.verbose(message, ...rest);
    this.mirror?.verbose?.(message, ...rest);
  }
  override error(message: unknown, ...rest: unknown[]): void {
    if (isLeftToEntryPoint(message)) return;
    super.error(message, ...(rest as [string?, string?]));
    this.mirror?.error(message, ...rest);
  }
  override fatal(message: unknown, ...rest: unknown[]): void {
    super.fatal(message, ...rest);
    this.mirror?.fatal?.(message, ...rest);
  }

  /** Text lines keep their wording: the correlation-id fields are left to the JSON lines. */
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
    params?: Record<string, unknown>,
  ): void {
    let shown = params;
    if (params && TEXT_HIDDEN_FIELDS.some((k) => k in params)) {
      shown = Object.fromEntries(Object.entries(params).filter(([k]) => !TEXT_HIDDEN_FIELDS.includes(k)));
      if (Object.keys(shown).length === 0) shown = undefined;
    }
    super.printMessages(messages, context, logLevel, writeStreamType, errorStack, shown);
  }
}

export interface AppLoggerOptions {
  /** Text lines' prefix instead of "Nest" (the feed process: "PriceFeed"). */
  prefix?: string;
  /** Threshold instead of LOG_LEVEL (the CLI: warnings only by default). */
  level?: LogLevel;
  /** `name` of the JSON lines: which process wrote them (api, price-feed, cli). */
  name?: string;
  /** Where JSON lines go instead of stdout (the CLI: stderr, its results being on stdout). */
  stream?: NodeJS.WritableStream;
}

/**
 * The logger of every entry point: Nest's ConsoleLogger for text, pino for JSON lines (LOG_FORMAT,
 * see logFormat), at LOG_LEVEL; with LOG_FILE, JSON lines appended there too (an unwritable
 * LOG_FILE throws a StartupError naming it).
 */
export function createAppLogger(env: LoggingEnv, opts: AppLoggerOptions = {}): LoggerService {
  const level = opts.level ?? env.LOG_LEVEL;
  const name = opts.name ?? 'api';
  const file = env.LOG_FILE ? openLogFile(env.LOG_FILE) : undefined;
  if (logFormat(env) === 'json') {
    return new PinoLoggerService(createPino([opts.stream ?? process.stdout, ...(file ? [file] : [])], level, name));
  }
  return new AppLogger(
    {
      logLevels: NEST_LEVELS.slice(0, NEST_LEVELS.indexOf(level) + 1),
      colors: !!process.stdout.isTTY,
      ...(opts.prefix ? { prefix: opts.prefix } : {}),
    },
    file ? new PinoLoggerService(createPino([file], level, name)) : undefined,
  );
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
