import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { readOrCreateSecretFile } from '../common/secret-file';
import { ConfigValidationError, type EnvironmentVariables } from '../config/env.validation';

/**
 * The secret signing this process's Redis bus messages: BUS_SECRET when set; in production
 * it must be (validateEnv says so at boot); otherwise the one generated once into
 * DATA_DIR/bus-secret, so the API, the feed process and the CLI commands started with the
 * same DATA_DIR on one machine agree without any setting.
 */
export function resolveBusSecret(
  config: Pick<EnvironmentVariables, 'BUS_SECRET' | 'NODE_ENV' | 'DATA_DIR'>,
  logger: Pick<Logger, 'warn'> = new Logger('Bus'),
): string {
  if (config.BUS_SECRET) return config.BUS_SECRET;
  if (config.NODE_ENV === 'production') {
    throw new ConfigValidationError(
      'Invalid configuration:\n  BUS_SECRET is required when NODE_ENV=production and REDIS_URL is set (at least 32 characters, the same in every API instance and the price-feed process)',
    );
  }
  const file = join(config.DATA_DIR, 'bus-secret');
  const { secret, created } = readOrCreateSecretFile(file, 'BUS_SECRET');
  if (created) {
    logger.warn(
      `BUS_SECRET is not set: generated one in ${file}; processes using this DATA_DIR share it ` +
        '(set the same BUS_SECRET in every API instance and the feed process in production)',
    );
  }
  return secret;
}
