import { AsyncLocalStorage } from 'node:async_hooks';

/** Fields every log line written while handling one request carries (JSON lines only). */
export interface LogContext {
  /** The request's id (X-Request-Id): the same on its access line and on every line logged while handling it. */
  req_id?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `context` attached to every line it (and what it awaits) logs. */
export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The fields of the current request, if a line is logged while handling one. */
export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}
