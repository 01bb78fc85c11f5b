import { ConsoleLogger, INestApplication, Logger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { PassportService } from './auth/passport.service';
import { SessionService } from './auth/session.service';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { validateEnv } from './config/env.validation';
import { RealtimeIoAdapter } from './realtime/transports/realtime-io.adapter';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Nest's own logger, text for people or JSON lines for log shippers (LOG_FORMAT), at LOG_LEVEL. */
export function createLogger(): ConsoleLogger {
  const env = validateEnv(process.env);
  const idx = LEVELS.indexOf(env.LOG_LEVEL);
  return new ConsoleLogger({
    json: env.LOG_FORMAT === 'json',
    logLevels: LEVELS.slice(0, idx + 1),
    colors: env.LOG_FORMAT !== 'json' && !!process.stdout.isTTY,
  });
}

/** Builds the API application exactly as main.ts runs it; the e2e tests use this too. */
export async function createApp(): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: createLogger() });
  await configureApp(app);
  return app;
}

/** App-wide wiring: proxy trust, body limits, sessions, passport, validation, error shape, shutdown hooks. */
export async function configureApp(app: NestExpressApplication): Promise<void> {
  const config = app.get(AppConfig);
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: '100kb' });
  app.enableShutdownHooks();
  app.use(await app.get(SessionService).middleware());
  // The app's own passport instance (see PassportService), not the process-wide singleton.
  const authPassport = app.get(PassportService);
  app.use(authPassport.initialize());
  app.use(authPassport.session());
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  // Socket.IO gateway (/realtime) with the realtime settings; leaves /ws/realtime/ upgrades to the raw transport.
  app.useWebSocketAdapter(new RealtimeIoAdapter(app));
}

export async function listen(app: INestApplication): Promise<string> {
  const config = app.get(AppConfig);
  await app.listen(config.PORT, config.HOST);
  const url = await app.getUrl();
  new Logger('Bootstrap').log(`Serving on ${url}`);
  return url;
}
