import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigValidationError, validateEnv } from './config/env.validation';

const HELP = `Usage: node dist/price-feed.main.js [options]
       npm run price-feed -- [options]
       nest start price-feed -- [options]

Runs the price feed on its own (no HTTP server): on its schedule (the cron job
price-feed-batch: PRICE_FEED_CRON, or every --interval seconds) it prices all
assets in batches, writes them to PostgreSQL and publishes them to the API
through Redis pub/sub. Only one feed writes at a time (PostgreSQL advisory
lock); a second one stands by and takes over when the first stops.
SIGTERM/SIGINT finish the current batch and exit.

Options (override the environment):
  --interval <seconds>     seconds between runs        (REALTIME_UPDATE_INTERVAL, default 30;
                                                       wins over PRICE_FEED_CRON)
  --batch-size <n>         assets per batch, 1..5000   (REALTIME_BATCH_SIZE, default 50)
  --providers <spec>       provider chains, e.g. "stocks=yahoo,alphavantage;crypto=coingecko;*=simulated"
                                                       (PRICE_PROVIDERS, default "*=simulated")
  --verbose                log every batch              (LOG_LEVEL=verbose)
  -h, --help               show this help

Requires REDIS_URL (the bus to the API; start the API with the same REDIS_URL
and PRICE_FEED_MODE=external). The database is DATABASE_URL, or without it
the project's embedded PostgreSQL under DATA_DIR: the same one \`npm start\`
uses, started by whichever process needs it first and shared by all of them.
With FEED_METRICS_PORT set it serves Prometheus metrics at GET /metrics on
that port (METRICS_TOKEN: bearer token required).
`;

function fail(message: string, code = 2): never {
  process.stderr.write(`price-feed: ${message}\n`);
  process.exit(code);
}

/** Applies command-line flags to process.env (flags win over the environment). */
export function applyFlags(argv: string[], env: NodeJS.ProcessEnv): { help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      interval: { type: 'string' },
      'batch-size': { type: 'string' },
      providers: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return { help: true };
  if (values.interval !== undefined) {
    const n = Number(values.interval);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--interval must be a positive number of seconds, got "${values.interval}"`);
    env.REALTIME_UPDATE_INTERVAL = values.interval;
    // The flag wins over a PRICE_FEED_CRON from the environment or .env (empty = unset, and .env does not override a set key).
    env.PRICE_FEED_CRON = '';
  }
  if (values['batch-size'] !== undefined) {
    if (!/^\d+$/.test(values['batch-size'])) throw new Error(`--batch-size must be a whole number, got "${values['batch-size']}"`);
    env.REALTIME_BATCH_SIZE = values['batch-size'];
  }
  if (values.providers !== undefined) env.PRICE_PROVIDERS = values.providers;
  if (values.verbose) env.LOG_LEVEL = 'verbose';
  return { help: false };
}

async function main(): Promise<void> {
  let help: boolean;
  try {
    ({ help } = applyFlags(process.argv.slice(2), process.env));
  } catch (err) {
    fail(`${(err as Error).message}\n\n${HELP}`);
  }
  if (help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  let env;
  try {
    env = validateEnv(process.env);
  } catch (err) {
    fail(err instanceof ConfigValidationError ? err.message : String(err));
  }
  if (!env.REDIS_URL) {
    fail(
      'REDIS_URL is not set: the separate feed reaches the API only through Redis, so set REDIS_URL=redis://127.0.0.1:6379 here and ' +
        'start the API with the same REDIS_URL and PRICE_FEED_MODE=external (without Redis, `npm start` alone already runs the feed).',
    );
  }

  // Loaded only now, so --help and flag errors answer at once.
  const { Logger } = await import('@nestjs/common');
  const { createAppLogger } = await import('./common/app-logger.js');
  const { NestFactory } = await import('@nestjs/core');
  const { PriceFeedProcessModule } = await import('./price-feed/price-feed-process.module.js');
  const { PriceFeedScheduler } = await import('./price-feed/feed/price-feed.scheduler.js');
  const logger = createAppLogger(env, { prefix: 'PriceFeed', name: 'price-feed' });
  const log = new Logger('PriceFeedProcess');
  process.on('unhandledRejection', (reason) => log.error(`Unhandled rejection: ${(reason as Error)?.stack ?? reason}`));
  const { ShutdownSignals } = await import('./common/shutdown-signals.js');
  const signals = new ShutdownSignals(log, (signal) => `${signal} received: finishing the current batch`);

  const app = await NestFactory.createApplicationContext(PriceFeedProcessModule, { logger, abortOnError: false });
  await app.init();
  const scheduler = app.get(PriceFeedScheduler);
  const { describeSchedule } = await import('./price-feed/feed/feed-schedule.js');
  log.log(`Price feed process ${process.pid} up (${describeSchedule(scheduler.schedule)}, batch size ${env.REALTIME_BATCH_SIZE})`);

  signals.whenUp(async () => {
    await scheduler.stop();
    await app.close();
  });
}

if (require.main === module) {
  main().catch(async (err: unknown) => {
    const { exitOnFatal } = await import('./common/app-logger.js');
    await exitOnFatal(err, 'price-feed: ');
  });
}
