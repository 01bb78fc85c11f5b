import 'reflect-metadata';
import { createApp, listen, preflight } from './app.setup';
import { exitOnFatal } from './common/app-logger';
import { ShutdownSignals } from './common/shutdown-signals';
import { logUnhandledRejections } from './common/unhandled-rejection';

// A rejection nobody handled is one error line, not the end of every client's connection (Node exits by default).
logUnhandledRejections();
const signals = new ShutdownSignals();

async function bootstrap(): Promise<void> {
  await preflight();
  const app = await createApp();
  signals.whenUp(() => app.close());
  await listen(app);
}

bootstrap().catch((err: unknown) => exitOnFatal(err));
