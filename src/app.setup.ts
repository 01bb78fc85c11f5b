import { INestApplication, Logger, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createServer } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { PassportService } from './auth/passport.service';
import { SessionService } from './auth/session.service';
import { createAppLogger } from './common/app-logger';
import { setupApiDocs } from './common/api-docs';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { requestLogging } from './common/request-logging';
import { StartupError } from './common/startup-error';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { validateEnv } from './config/env.validation';
import { RealtimeWsAdapter } from './realtime/transports/realtime-ws.adapter';

/** Nest's own logger, text for people or JSON lines for log shippers (LOG_FORMAT, LOG_FILE), at LOG_LEVEL. */
function createLogger(): LoggerService {
  return createAppLogger(validateEnv(process.env));
}

/**
 * Builds the API application exactly as main.ts runs it; the e2e tests use this too.
 * An error while the modules start (a bad DATABASE_URL, say) rejects here instead of
 * Nest logging it and exiting, so the caller decides how it is reported.
 */
export async function createApp(): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: createLogger(), abortOnError: false });
  await configureApp(app);
  return app;
}

/** Why the HTTP server cannot listen, as one actionable line. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): StartupError | undefined {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE')
    return new StartupError(
      `PORT ${port} is already in use on ${host} (another program, or another copy of this app, listens on ${where}): stop it, or set PORT to a free port (PORT=0 picks one).`,
    );
  if (err.code === 'EACCES')
    return new StartupError(`Not allowed to listen on ${where}: ports below 1024 need root. Set PORT to 1024 or above (the default is 8000).`);
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
    return new StartupError(
      `HOST ${host} is not an address of this machine (cannot listen on ${where}): set HOST to 127.0.0.1, 0.0.0.0 or one of its addresses.`,
    );
  return undefined;
}

/**
 * Checks, before anything starts, what would otherwise fail late: the settings,
 * and that PORT is free on HOST (a taken port is reported in one line, and no
 * database is started for nothing).
 */
export async function preflight(): Promise<void> {
  const env = validateEnv(process.env);
  if (env.PORT === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, env.HOST, env.PORT) ?? err));
    probe.listen(env.PORT, env.HOST, () => probe.close(() => resolve()));
  });
}

/** App-wide wiring: proxy trust, body limits, sessions, passport, validation, error shape (signals: main.ts). */
export async function configureApp(app: NestExpressApplication): Promise<void> {
  const config = app.get(AppConfig);
  // First: the request id (X-Request-Id) and the access line of every request, whatever answers it.
  app.use(requestLogging(config));
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: '100kb' });
  app.use(await app.get(SessionService).middleware());
  // The app's own passport instance (see PassportService), not the process-wide singleton.
  const authPassport = app.get(PassportService);
  app.use(authPassport.initialize());
  app.use(authPassport.session());
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  // OpenAPI: Swagger UI at /api/docs, the document at /api/docs-json (the AsyncAPI one is RealtimeDocsController's).
  setupApiDocs(app);
  // One WebSocket adapter per app: it serves both realtime transports (raw /ws/realtime/ and Socket.IO /realtime).
  app.useWebSocketAdapter(new RealtimeWsAdapter(app));
}

/**
 * Listens on HOST:PORT. A refused port closes the app (its database stopped
 * cleanly) and rejects with one line naming PORT.
 */
export async function listen(app: INestApplication): Promise<string> {
  const config = app.get(AppConfig);
  try {
    await app.listen(config.PORT, config.HOST);
  } catch (err) {
    const friendly = listenError(err as NodeJS.ErrnoException, config.HOST, config.PORT);
    await app.close().catch(() => undefined);
    throw friendly ?? err;
  }
  const url = await app.getUrl();
  const logger = new Logger('Bootstrap');
  logger.log(`Serving on ${url}`);
  logger.log(welcome(config, url));
  return url;
}

/** The line a person looks for after `npm start`: where to open the dashboard and how to log in. */
function welcome(config: AppConfig, url: string): string {
  const u = new URL(url);
  if (['127.0.0.1', '0.0.0.0', '[::]', '[::1]'].includes(u.hostname)) u.hostname = 'localhost';
  const dashboard = `${u.origin}/realtime/dashboard/`;
  if (!config.seedDemo) return `Dashboard: ${dashboard}`;
  // The default password is printed; one set in DEMO_PASSWORD is a secret and is not.
  const password = config.DEMO_PASSWORD ? 'the password in DEMO_PASSWORD' : `password ${config.demoPassword}`;
  return `Dashboard: ${dashboard} (log in as demo, ${password})`;
}
