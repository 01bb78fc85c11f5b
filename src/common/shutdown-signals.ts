import { Logger } from '@nestjs/common';
import { releaseEmbeddedPostgres } from '../database/embedded-postgres';

/**
 * Ctrl-C and SIGTERM for an entry point: the first signal stops gracefully (`stop`, which
 * closes the Nest app and so runs every shutdown hook) and exits 0; a second Ctrl-C exits
 * at once (1); a repeated SIGTERM (process group and process) is ignored. A signal that
 * arrives before the app exists lets go of the embedded PostgreSQL and exits 130.
 *
 * Used instead of Nest's enableShutdownHooks, which re-raises the signal after the hooks,
 * so a clean Ctrl-C would end "killed by SIGINT" rather than with exit code 0.
 */
export class ShutdownSignals {
  private stopping = false;
  private stop?: () => Promise<void>;

  constructor(
    private readonly log: Pick<Logger, 'log' | 'warn' | 'error'> = new Logger('Shutdown'),
    private readonly announce?: (signal: string) => string,
  ) {
    process.on('SIGTERM', () => this.onSignal('SIGTERM'));
    process.on('SIGINT', () => this.onSignal('SIGINT'));
  }

  /** What a signal does once the app is up. */
  whenUp(stop: () => Promise<void>): void {
    this.stop = stop;
  }

  private onSignal(signal: string): void {
    if (this.stopping) {
      if (signal === 'SIGINT') {
        this.log.warn('SIGINT again: exiting without waiting');
        process.exit(1);
      }
      return;
    }
    this.stopping = true;
    const stop = this.stop;
    if (this.announce) this.log.log(this.announce(signal));
    void (async () => {
      try {
        if (stop) await stop();
        else await releaseEmbeddedPostgres();
        process.exit(stop ? 0 : 130);
      } catch (err) {
        this.log.error(`Shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      }
    })();
  }
}
