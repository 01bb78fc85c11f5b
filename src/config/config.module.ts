import { Global, Module } from '@nestjs/common';
import { ConfigModule as NestConfigModule } from '@nestjs/config';
import { AppConfig } from './app-config';
import { validateEnv } from './env.validation';

/**
 * Loads `.env` (if present, never in tests) into process.env through @nestjs/config,
 * then exposes the validated, typed settings as the injectable `AppConfig`.
 */
@Global()
@Module({
  imports: [
    NestConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: process.env.NODE_ENV === 'test',
      envFilePath: ['.env'],
    }),
  ],
  providers: [{ provide: AppConfig, useFactory: () => AppConfig.from(validateEnv(process.env)) }],
  exports: [AppConfig],
})
export class ConfigModule {}
