import 'reflect-metadata';
import { createApp, listen } from './app.setup';
import { ConfigValidationError } from './config/env.validation';

async function bootstrap(): Promise<void> {
  const app = await createApp();
  await listen(app);
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigValidationError) {
    console.error(err.message);
  } else {
    console.error(err);
  }
  process.exit(1);
});
