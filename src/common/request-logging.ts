import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { pinoHttp } from 'pino-http';
import { logFormat, type LoggingEnv } from './app-logger';
import { runWithLogContext } from './log-context';
import { openLogFile } from './log-file';
import { createPino } from './pino-logger';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** An incoming X-Request-Id worth keeping: a short token (a UUID, nginx's $request_id, a tracing id), nothing a log line could be forged with. */
const SANE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}$/;

/** The request's id: its X-Request-Id when that is a sane token, otherwise a new UUID. */
export function requestIdFor(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SANE_REQUEST_ID.test(value) ? value : randomUUID();
}

/** Probes and scrapes answered well: their access lines are debug, not one info line every few seconds. */
const PROBE = /^\/(health|metrics)(\/|\?|$)/;

/**
 * The first middleware of the API: gives every request an id (kept from a sane incoming
 * X-Request-Id, else generated), echoes it in the X-Request-Id response header, attaches it
 * to every line logged while handling the request (`req_id`, JSON lines), and writes one
 * access line per request where JSON lines go (stdout with LOG_FORMAT=json, LOG_FILE always):
 * method, URL, status, duration, client address; never headers (no cookie, no Authorization)
 * and never bodies.
 */
export function requestLogging(env: LoggingEnv): RequestHandler {
  const json = logFormat(env) === 'json';
  const file = env.LOG_FILE ? openLogFile(env.LOG_FILE) : undefined;
  const streams = [...(json ? [process.stdout] : []), ...(file ? [file] : [])];
  const access =
    streams.length === 0
      ? undefined
      : pinoHttp<IncomingMessage, ServerResponse>({
          logger: createPino(streams, env.LOG_LEVEL, 'api'),
          genReqId: (req) => req.id,
          quietReqLogger: true,
          customAttributeKeys: { reqId: 'req_id', responseTime: 'response_time_ms' },
          customProps: () => ({ context: 'HTTP' }),
          customLogLevel: (req, res, err) =>
            err || res.statusCode >= 500 ? 'error' : res.statusCode < 400 && PROBE.test((req as Request).originalUrl ?? req.url ?? '') ? 'debug' : 'info',
          customSuccessMessage: (req, res, ms) => `${req.method} ${(req as Request).originalUrl ?? req.url} ${res.statusCode} ${ms} ms`,
          customErrorMessage: (req, res) => `${req.method} ${(req as Request).originalUrl ?? req.url} ${res.statusCode} failed`,
          // A 5xx answered normally has no error of its own: no stack of pino-http's placeholder on its line.
          customErrorObject: (_req, res, err, val: Record<string, unknown>) => {
            if (res.err || err.message !== `failed with status code ${res.statusCode}`) return val;
            const { err: _placeholder, ...rest } = val;
            return rest;
          },
          serializers: {
            // Only these: the standard serializers would write every header (Cookie, Authorization).
            req: (r: { method?: string; url?: string; remoteAddress?: string; raw?: Request }) => ({
              method: r.method,
              url: r.url,
              remote_address: r.raw?.ip ?? r.remoteAddress,
            }),
            res: (r: { statusCode?: number }) => ({ status_code: r.statusCode }),
          },
        });
  return (req: Request, res: Response, next: NextFunction) => {
    const id = requestIdFor(req.headers['x-request-id']);
    req.id = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    runWithLogContext({ req_id: id }, () => (access ? access(req, res, next) : next()));
  };
}
