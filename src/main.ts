import 'reflect-metadata';
import { createApp, listen, preflight } from './app.setup';
import { exitOnFatal } from './common/app-logger';

async function bootstrap(): Promise<void> {
  await preflight();
  const app = await createApp();
  await listen(app);
}

bootstrap().catch((err: unknown) => exitOnFatal(err));
