import type { LoggerService, LogLevel } from '@nestjs/common';
import { inspect } from 'node:util';
import pino, { type DestinationStream, type Level, type Logger as Pino } from 'pino';
import { currentLogContext } from './log-context';
import { StartupError } from './startup-error';

/** Nest's levels, most severe first (LOG_LEVEL names one of them; every level above it is printed too). */
export const NEST_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Nest level → pino level (pino's labels are what the JSON lines carry: `log` is `info`, `verbose` is `trace`). */
export const PINO_LEVEL: Record<LogLevel, Level> = { fatal: 'fatal', error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };

/**
 * Errors the entry points report themselves, in one paragraph (see exitOnFatal): Nest logs every
 * error that escapes module initialisation with its stack, and `listen` logs a refused port before
 * rejecting. Both loggers (text and JSON) leave them out.
 */
export function isLeftToEntryPoint(message: unknown): boolean {
  if (message instanceof StartupError) return true;
  return typeof message === 'string' && /^Error: listen (EADDRINUSE|EACCES|EADDRNOTAVAIL)/.test(message);
}

/** Keys of a JSON line that a structured param must not replace. */
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'context', 'err', 'stack']);

/** The common shape of every JSON line: `level` as a label, ISO `time`, pid, hostname, `name` of the process. */
export function createPino(streams: DestinationStream[], level: LogLevel, name: string): Pino {
  const pinoLevel = PINO_LEVEL[level];
  // Every stream takes every record the logger lets through (multistream's default would drop debug and trace).
  const destination = streams.length === 1 ? streams[0] : pino.multistream(streams.map((stream) => ({ stream, level: 'trace' as const })));
  return pino(
    {
      level: pinoLevel,
      name,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

const isStack = (v: unknown): v is string => typeof v === 'string' && /\n[ \t]+at .+/.test(v);
const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * A Nest LoggerService writing JSON lines through pino, one line per record. It reads Nest's
 * calling conventions as ConsoleLogger does: a trailing string is the context (`context` field),
 * `error(message, stack)` puts the stack in `stack`, an Error goes to `err` (type, message, stack),
 * plain objects after the message are fields (`{ connection_id }`), and a line logged while handling
 * an HTTP request carries its `req_id`.
 */
export class PinoLoggerService implements LoggerService {
  constructor(readonly pino: Pino) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  /** The least severe of `levels` becomes the threshold (Nest passes a list). */
  setLogLevels(levels: LogLevel[]): void {
    const lowest = NEST_LEVELS.filter((l) => levels.includes(l)).pop();
    this.pino.level = lowest ? PINO_LEVEL[lowest] : 'silent';
  }

  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    const severe = level === 'error' || level === 'fatal';
    if (severe && isLeftToEntryPoint(message)) return;
    if (!this.pino.isLevelEnabled(PINO_LEVEL[level])) return;
    const args = [...rest];
    const fields: Record<string, unknown> = {};
    // A trailing string is the context, except the stack of error(message, stack).
    const last = args[args.length - 1];
    if (args.length > 0 && typeof last === 'string' && !(severe && isStack(last))) {
      fields.context = last;
      args.pop();
    }
    const parts: string[] = [];
    const take = (value: unknown, isMessage: boolean) => {
      if (value instanceof Error) {
        fields.err ??= value;
        if (isMessage) parts.push(value.message);
      } else if (severe && !isMessage && isStack(value)) {
        fields.stack ??= value;
      } else if (!isMessage && isPlainObject(value)) {
        for (const [k, v] of Object.entries(value)) if (!RESERVED.has(k)) fields[k] = v;
      } else if (value !== undefined || isMessage) {
        parts.push(typeof value === 'string' ? value : inspect(value, { breakLength: Infinity, depth: 5 }));
      }
    };
    take(typeof message === 'function' ? safeCall(message as () => unknown) : message, true);
    for (const a of args) take(a, false);
    const context = currentLogContext();
    if (context?.req_id && fields.req_id === undefined) fields.req_id = context.req_id;
    this.pino[PINO_LEVEL[level]](fields, parts.join(' '));
  }
}

function safeCall(fn: () => unknown): unknown {
  if (Function.prototype.toString.call(fn).startsWith('class ')) return (fn as { name: string }).name;
  try {
    return fn();
  } catch (err) {
    return err;
  }
}
