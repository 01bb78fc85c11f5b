import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { isDbUnavailableError, OutageLog } from '../database/db-errors';

/**
 * Every HTTP error leaves as JSON of one shape:
 * `{ statusCode, error, message, details? }` — never a stack trace.
 * A database that cannot be reached or did not answer in time (see
 * database/db-errors.ts) is `503 SERVICE_UNAVAILABLE`, not a 500: an outage, not a bug.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');
  private readonly outage = new OutageLog(this.logger);

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    if (host.getType() !== 'http' || !res || typeof res.status !== 'function') return;
    let status = HttpStatus.INTERNAL_SERVER_ERROR;
    let message = 'Internal server error';
    let details: unknown;
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const body = exception.getResponse();
      if (typeof body === 'string') {
        message = body;
      } else if (body && typeof body === 'object') {
        const b = body as { message?: unknown; details?: unknown };
        if (Array.isArray(b.message)) {
          details = b.message;
          message = (b.message as string[]).join('; ');
        } else if (typeof b.message === 'string') {
          message = b.message;
        }
        if (b.details !== undefined) details = b.details;
      }
    } else if (isDbUnavailableError(exception)) {
      status = HttpStatus.SERVICE_UNAVAILABLE;
      message = 'The database is not answering: try again shortly';
      this.outage.failed('HTTP request', exception);
    } else if (isBodyParserError(exception)) {
      status = exception.status;
      message = exception.type === 'entity.too.large' ? 'Request body too large' : 'Malformed JSON body';
    } else {
      this.logger.error((exception as Error)?.stack ?? String(exception));
    }
    if (res.headersSent) return;
    res.status(status).json({
      statusCode: status,
      error: (HttpStatus as unknown as Record<number, string>)[status] ?? 'Error',
      message,
      ...(details !== undefined ? { details } : {}),
    });
  }
}

function isBodyParserError(e: unknown): e is { status: number; type: string } {
  return !!e && typeof e === 'object' && typeof (e as { status?: unknown }).status === 'number' && typeof (e as { type?: unknown }).type === 'string';
}
