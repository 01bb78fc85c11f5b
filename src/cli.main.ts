import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { CliModule } from './cli/cli.module';
import { createAppLogger, exitOnFatal } from './common/app-logger';
import { StartupError, wrapParagraph } from './common/startup-error';
import { validateEnv } from './config/env.validation';

/** One-shot commands: `seed`, `migrate`, `update-asset-prices`, ... (`--help` lists them). */
async function main(): Promise<void> {
  const env = validateEnv(process.env);
  // Commands print their own results on stdout; the framework logs only warnings unless LOG_LEVEL asks for more
  // (JSON log lines go to stderr, so stdout stays the command's results).
  const logger = createAppLogger(env, { level: env.LOG_LEVEL === 'log' ? 'warn' : env.LOG_LEVEL, name: 'cli', stream: process.stderr });
  await CommandFactory.run(CliModule, {
    logger,
    abortOnError: false,
    serviceErrorHandler: (err: Error) => {
      process.stderr.write(`error: ${err instanceof StartupError ? wrapParagraph(err.message) : err.message}\n`);
      process.exitCode = 1;
    },
  });
}

main()
  // Exit explicitly: a command must not hang on a handle some module left open.
  .then(() => process.exit(process.exitCode ?? 0))
  .catch((err: unknown) => exitOnFatal(err));
