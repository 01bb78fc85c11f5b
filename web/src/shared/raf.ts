/**
 * Coalesces updates per key and applies them once per animation frame: a burst
 * of 50 price messages becomes one DOM pass, and only the newest value per key
 * is drawn. While the tab is hidden nothing runs and only the newest value per
 * key is kept (memory stays bounded).
 */
/** Looked up at call time (and typed here) so this file also compiles and runs outside a DOM. */
const nextFrame = (cb: () => void): void => {
  (globalThis as unknown as { requestAnimationFrame(cb: () => void): number }).requestAnimationFrame(cb);
};

export class FrameBatcher<K, V> {
  private pending = new Map<K, V>();
  private scheduled = false;

  constructor(private readonly apply: (batch: Map<K, V>) => void) {}

  push(key: K, value: V): void {
    this.pending.set(key, value);
    if (this.scheduled) return;
    this.scheduled = true;
    nextFrame(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    if (batch.size > 0) this.apply(batch);
  }
}
