import { Logger } from '@nestjs/common';

/**
 * One line for a rejection nobody handled: the error's name and message (or the value),
 * and where it was thrown (the first frame of its stack), never the whole stack.
 * Never throws, whatever was rejected with.
 */
export function describeRejection(reason: unknown): string {
  try {
    if (reason instanceof Error) {
      const frame = reason.stack
        ?.split('\n')
        .slice(1)
        .find((l) => /^\s+at\s/.test(l))
        ?.trim();
      const text = `${reason.name}: ${reason.message}`.replace(/\s+/g, ' ').trim();
      return frame ? `${text} (${frame})` : text;
    }
    const text = typeof reason === 'string' ? reason : (JSON.stringify(reason) ?? String(reason));
    return text.replace(/\s+/g, ' ').trim().slice(0, 500);
  } catch {
    return 'an unprintable value';
  }
}

/**
 * Keeps the process serving when a promise rejection is not handled (Node's default is to
 * exit): one error line with the reason, then on. Installed once by the API entry point.
 */
export function logUnhandledRejections(logger: Pick<Logger, 'error'> = new Logger('Process')): (reason: unknown) => void {
  const handler = (reason: unknown) => {
    try {
      logger.error(`Unhandled rejection (kept running): ${describeRejection(reason)}`);
    } catch {
      // logging must not throw out of the handler
    }
  };
  process.on('unhandledRejection', handler);
  return handler;
}
