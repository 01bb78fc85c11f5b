import { Logger } from '@nestjs/common';
import { releaseEmbeddedPostgres } from '../database/embedded-postgres';

/**
 * Ctrl-C and SIGTERM for an entry point: the first signal stops gracefully (`stop`, which
 * closes the Nest app and so runs every shutdown hook) and exits 0; a second Ctrl-C exits
 * at once (1); a repeated SIGTERM (process group and process) is ignored. A SIGTERM that
 * arrives while the app is starting (a service manager stopping it early) waits for the
 * start-up to finish and then stops gracefully (0), for at most STARTING_GRACE_MS; Ctrl-C
 * during start-up, or a start-up that does not finish within that grace, lets go of the
 * embedded PostgreSQL and exits 130.
 *
 * Used instead of Nest's enableShutdownHooks, which re-raises the signal after the hooks,
 * so a clean Ctrl-C would end "killed by SIGINT" rather than with exit code 0.
 */
/** How long a SIGTERM received during start-up waits for the app to be up. */
export const STARTING_GRACE_MS = 15_000;

export class ShutdownSignals {
  private stopping = false;
  private stop?: () => Promise<void>;
  /** A SIGTERM came during start-up: stop as soon as the app is up. */
  private deferred: NodeJS.Timeout | null = null;

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
    if (this.deferred) {
      clearTimeout(this.deferred);
      this.deferred = null;
      this.finish(stop);
    }
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
    if (!stop && signal === 'SIGTERM') {
      this.deferred = setTimeout(() => {
        this.deferred = null;
        this.log.warn(`Still starting ${STARTING_GRACE_MS / 1000} s after SIGTERM: exiting without waiting`);
        this.finish(undefined);
      }, STARTING_GRACE_MS);
      return;
    }
    this.finish(stop);
  }

  private finish(stop: (() => Promise<void>) | undefined): void {
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
