import 'reflect-metadata';
import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { CommandFactory } from 'nest-commander';
import { CliModule } from './cli/cli.module';
import { ConfigValidationError, validateEnv } from './config/env.validation';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** One-shot commands: `seed`, `migrate`, `update-asset-prices`, ... (`--help` lists them). */
async function main(): Promise<void> {
  const env = validateEnv(process.env);
  // Commands print their own results on stdout; the framework logs only warnings unless LOG_LEVEL asks for more.
  const level = env.LOG_LEVEL === 'log' ? 'warn' : env.LOG_LEVEL;
  const logger = new ConsoleLogger({ json: env.LOG_FORMAT === 'json', logLevels: LEVELS.slice(0, LEVELS.indexOf(level) + 1) });
  await CommandFactory.run(CliModule, {
    logger,
    serviceErrorHandler: (err: Error) => {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = 1;
    },
  });
}

main()
  // Exit explicitly: a command must not hang on a handle some module left open.
  .then(() => process.exit(process.exitCode ?? 0))
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof ConfigValidationError ? err.message : ((err as Error)?.stack ?? String(err))}\n`);
    process.exit(1);
  });
