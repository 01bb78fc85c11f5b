import { AppConfig } from '../../../../src/config/app-config';
import { validateEnv } from '../../../../src/config/env.validation';
import { PriceFeedRedis } from '../../../../src/price-feed/redis/price-feed-redis.service';
import { VendorClientFactory } from '../../../../src/price-feed/providers/vendor-client.factory';

/** A validated AppConfig from defaults plus `env` (no REDIS_URL unless given). */
export function testConfig(env: Record<string, string> = {}): AppConfig {
  return AppConfig.from(validateEnv({ NODE_ENV: 'test', ...env }));
}

export function vendorFactory(config: AppConfig): VendorClientFactory {
  return new VendorClientFactory(config, new PriceFeedRedis(config));
}
