import { Injectable } from '@nestjs/common';

/**
 * The clock market states are read on (asset_update's `market_state`, the `status`
 * messages). The system clock unless pinned: tests pin it to a fixed instant to make
 * market states deterministic (`app.get(MarketClock).pin(...)`), and listeners
 * (the realtime hub's market watcher) re-check at once when it moves.
 */
@Injectable()
export class MarketClock {
  private pinned: number | null = null;
  private readonly listeners = new Set<() => void>();

  now(): number {
    return this.pinned ?? Date.now();
  }

  /** Pins the clock to `at` (null: back to the system clock) and tells the listeners. */
  pin(at: Date | number | null): void {
    this.pinned = at === null ? null : typeof at === 'number' ? at : at.getTime();
    for (const l of [...this.listeners]) l();
  }

  /** `listener` runs after every pin(); returns the unsubscriber. */
  onPin(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
