import { EnvironmentVariables } from './env.validation';

/**
 * The validated settings, injectable anywhere (`constructor(private readonly config: AppConfig)`).
 * Built once per application from process.env by ConfigModule.
 */
export class AppConfig extends EnvironmentVariables {
  get isProduction(): boolean {
    return this.NODE_ENV === 'production';
  }

  get allowedOrigins(): string[] {
    return this.ALLOWED_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean);
  }

  get trustProxy(): boolean | number | string {
    const v = this.TRUST_PROXY.trim();
    if (v === 'true') return true;
    if (v === 'false' || v === '') return false;
    if (/^\d+$/.test(v)) return Number(v);
    return v;
  }

  get demoPassword(): string | undefined {
    return this.DEMO_PASSWORD ?? (this.isProduction ? undefined : 'demo-password');
  }

  get seedDemo(): boolean {
    return this.SEED_DEMO ?? !this.isProduction;
  }

  /** PORTFOLIO_INTRADAY_INTERVAL in ms: the length of one recording interval of the intraday value series. */
  get intradayIntervalMs(): number {
    return Math.round(this.PORTFOLIO_INTRADAY_INTERVAL * 1000);
  }

  static from(env: EnvironmentVariables): AppConfig {
    return Object.assign(new AppConfig(), env);
  }
}
