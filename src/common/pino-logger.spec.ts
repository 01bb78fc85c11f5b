import { Logger } from '@nestjs/common';
import express from 'express';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppLogger, logFormat } from './app-logger';
import { runWithLogContext } from './log-context';
import { openLogFile } from './log-file';
import { createPino, PinoLoggerService } from './pino-logger';
import { requestIdFor, requestLogging } from './request-logging';
import request from 'supertest';
import { StartupError } from './startup-error';

/** A pino adapter writing into an array, one parsed record per line. */
function jsonLogger(level: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'verbose') {
  const lines: string[] = [];
  const logger = new PinoLoggerService(createPino([{ write: (l: string) => void lines.push(l) }], level, 'test'));
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, any>);
  return { logger, lines, records };
}

describe('PinoLoggerService (JSON lines)', () => {
  afterEach(() => Logger.overrideLogger(new Logger()));

  it('maps Nest levels to pino labels and honours the threshold', () => {
    const { logger, records } = jsonLogger('warn');
    logger.log('not shown');
    logger.debug('not shown');
    logger.warn('careful');
    logger.error('broken');
    logger.fatal('gone');
    expect(records().map((r) => [r.level, r.msg])).toEqual([
      ['warn', 'careful'],
      ['error', 'broken'],
      ['fatal', 'gone'],
    ]);
    const all = jsonLogger('verbose');
    all.logger.log('a');
    all.logger.verbose('b');
    expect(all.records().map((r) => r.level)).toEqual(['info', 'trace']);
    expect(all.records()[0]).toMatchObject({ name: 'test', pid: process.pid });
    expect(typeof all.records()[0].time).toBe('string');
  });

  it('reads the context, structured fields and multi-line messages the way Nest passes them, one line each', () => {
    const { logger, lines, records } = jsonLogger();
    Logger.overrideLogger(logger);
    new Logger('RealtimeHub').log('Closing connection c1 (1008): too many errors', { connection_id: 'c1' });
    new Logger('Bootstrap').log('two\nlines');
    logger.warn('fields cannot replace the record', { level: 'fatal', msg: 'forged', extra: 1 });
    expect(lines).toHaveLength(3);
    expect(records()[0]).toMatchObject({ level: 'info', context: 'RealtimeHub', connection_id: 'c1', msg: 'Closing connection c1 (1008): too many errors' });
    expect(records()[1]).toMatchObject({ context: 'Bootstrap', msg: 'two\nlines' });
    expect(records()[2]).toMatchObject({ level: 'warn', msg: 'fields cannot replace the record', extra: 1 });
  });

  it('puts stacks and errors in fields', () => {
    const { logger, records } = jsonLogger();
    Logger.overrideLogger(logger);
    const err = new TypeError('boom');
    new Logger('Ctx').error('plain');
    logger.error('with stack', err.stack, 'Ctx');
    logger.error(err);
    new Logger('Ctx').error('the cause', err);
    const [plain, withStack, asMessage, asParam] = records();
    expect(plain).toMatchObject({ level: 'error', context: 'Ctx', msg: 'plain' });
    expect(plain.stack).toBeUndefined();
    expect(withStack).toMatchObject({ context: 'Ctx', msg: 'with stack' });
    expect(withStack.stack).toMatch(/TypeError: boom\n\s+at /);
    expect(asMessage).toMatchObject({ msg: 'boom', err: { type: 'TypeError', message: 'boom' } });
    expect(asMessage.err.stack).toMatch(/\n\s+at /);
    expect(asParam).toMatchObject({ context: 'Ctx', msg: 'the cause', err: { message: 'boom' } });
  });

  it('leaves StartupErrors and refused ports to the entry point', () => {
    const { logger, lines } = jsonLogger();
    logger.error(new StartupError('PORT 8000 is already in use'));
    logger.error('Error: listen EADDRINUSE: address already in use 127.0.0.1:8000');
    expect(lines).toEqual([]);
  });

  it('adds the req_id of the request being handled', () => {
    const { logger, records } = jsonLogger();
    runWithLogContext({ req_id: 'r-1' }, () => logger.log('inside', 'Auth'));
    logger.log('outside');
    expect(records()[0]).toMatchObject({ req_id: 'r-1', context: 'Auth' });
    expect(records()[1].req_id).toBeUndefined();
  });
});

describe('AppLogger (text)', () => {
  it('keeps the wording: correlation ids stay out of text lines, other fields are shown', () => {
    const out: string[] = [];
    const original = process.stdout.write;
    process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      const logger = new AppLogger({ logLevels: ['log'], colors: false });
      logger.log('Closing connection c1 (1008): too many errors', { connection_id: 'c1' }, 'RealtimeHub');
      logger.log('with a field', { other: 2 }, 'Ctx');
    } finally {
      process.stdout.write = original;
    }
    expect(out[0]).toMatch(/LOG \[RealtimeHub\] Closing connection c1 \(1008\): too many errors\n$/);
    expect(out[0]).not.toContain('connection_id');
    expect(out[1]).toContain('{ other: 2 }');
  });

  it('mirrors every record to LOG_FILE as JSON', () => {
    const { logger: mirror, records } = jsonLogger();
    const original = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      new AppLogger({ logLevels: ['log'], colors: false }, mirror).log('hello', { connection_id: 'c2' }, 'Ctx');
    } finally {
      process.stdout.write = original;
    }
    expect(records()).toEqual([expect.objectContaining({ msg: 'hello', context: 'Ctx', connection_id: 'c2' })]);
  });
});

describe('settings', () => {
  it('LOG_FORMAT defaults to json in production only, and overrides', () => {
    expect(logFormat({ NODE_ENV: 'production' })).toBe('json');
    expect(logFormat({ NODE_ENV: 'development' })).toBe('text');
    expect(logFormat({ NODE_ENV: 'test' })).toBe('text');
    expect(logFormat({ NODE_ENV: 'production', LOG_FORMAT: 'text' })).toBe('text');
    expect(logFormat({ NODE_ENV: 'development', LOG_FORMAT: 'json' })).toBe('json');
  });

  it('keeps a sane X-Request-Id, replaces anything else', () => {
    expect(requestIdFor('abc-123')).toBe('abc-123');
    expect(requestIdFor('0f8fad5b-d9cb-469f-a165-70867728950e')).toBe('0f8fad5b-d9cb-469f-a165-70867728950e');
    for (const bad of [undefined, '', 'a b', 'x'.repeat(200), '"quoted"', 'line\nbreak', '{"json":1}']) {
      expect(requestIdFor(bad)).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('an unwritable LOG_FILE is one StartupError naming LOG_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rm-logfile-'));
    try {
      writeFileSync(join(dir, 'a-file'), '');
      expect(() => openLogFile(join(dir, 'a-file', 'app.log'))).toThrow(StartupError);
      expect(() => openLogFile(join(dir, 'a-file', 'app.log'))).toThrow(/^LOG_FILE=.*a-file\/app\.log cannot be written .*unset LOG_FILE/);
      expect(() => openLogFile(dir)).toThrow(/LOG_FILE=.* cannot be written \(it is a folder\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('requestLogging (access lines)', () => {
  it('JSON: one line per request with req_id, method, URL, status; no header, cookie or body; the id on lines logged meanwhile', async () => {
    const { logger, records } = jsonLogger();
    Logger.overrideLogger(logger);
    const out: string[] = [];
    const original = process.stdout.write;
    process.stdout.write = ((chunk: string) => out.push(...String(chunk).split('\n').filter(Boolean)) > 0) as typeof process.stdout.write;
    try {
      const app = express();
      app.use(requestLogging({ NODE_ENV: 'production', LOG_LEVEL: 'log' }));
      app.post('/ok', (_req, res) => {
        new Logger('Handler').log('handling');
        res.json({ ok: true });
      });
      app.get('/boom', (_req, res) => void res.status(500).json({}));
      const ok = await request(app)
        .post('/ok?x=1')
        .set('X-Request-Id', 'kept-1')
        .set('Cookie', 'rm.sid=s%3Asecret-session.sig')
        .set('Authorization', 'Bearer secret-token')
        .send({ password: 'secret-body' });
      expect(ok.headers['x-request-id']).toBe('kept-1');
      const boom = await request(app).get('/boom');
      expect(boom.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      process.stdout.write = original;
      Logger.overrideLogger(new Logger());
    }
    const access = out.map((l) => JSON.parse(l) as Record<string, any>);
    expect(access).toHaveLength(2);
    expect(access[0]).toMatchObject({ level: 'info', context: 'HTTP', req_id: 'kept-1', req: { method: 'POST', url: '/ok?x=1' }, res: { status_code: 200 } });
    expect(access[1]).toMatchObject({ level: 'error', req: { method: 'GET', url: '/boom' }, res: { status_code: 500 } });
    expect(access[1].err).toBeUndefined();
    expect(out.join('\n')).not.toMatch(/secret|cookie|authorization/i);
    expect(records()).toEqual([expect.objectContaining({ msg: 'handling', context: 'Handler', req_id: 'kept-1' })]);
  });

  it('text without LOG_FILE: the X-Request-Id header only, no access line', async () => {
    const out: string[] = [];
    const original = process.stdout.write;
    process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      const app = express();
      app.use(requestLogging({ NODE_ENV: 'development', LOG_LEVEL: 'verbose' }));
      app.get('/x', (_req, res) => void res.send('x'));
      expect((await request(app).get('/x')).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      process.stdout.write = original;
    }
    expect(out).toEqual([]);
  });
});
