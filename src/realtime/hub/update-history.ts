import type { PriceTick } from '../../bus/bus.messages';

/** One committed price as it went out: its cluster-wide seq, the tick, and when the feed published it. */
export interface HistoryEntry {
  readonly seq: number;
  readonly tick: PriceTick;
  readonly publishedAt: number;
}

/** What a resume can send for one topic. */
export type Recovery =
  /** `since` is the latest seq: nothing was missed. */
  | { recovered: true; entries: readonly HistoryEntry[] }
  /** The gap is not (fully) in the history, or `since` is unknown here. */
  | { recovered: false };

/**
 * The last `capacity` updates of one symbol, with consecutive seqs (a ring buffer; appending
 * is O(1) and allocates nothing but the entry). An update whose seq does not follow the last
 * one (a bus message this instance missed, a publisher without seqs) starts the history
 * again, so what it holds is always gap-free: a resume from `since` is exact when
 * since + 1 is still in it, and refused otherwise.
 */
export class UpdateHistory {
  private readonly ring: (HistoryEntry | undefined)[];
  /** Index of the oldest entry. */
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<HistoryEntry | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Seq of the newest entry (0 when empty). */
  get lastSeq(): number {
    return this.size === 0 ? 0 : this.ring[(this.start + this.size - 1) % this.capacity]!.seq;
  }

  /** Seq of the oldest entry (0 when empty). */
  get firstSeq(): number {
    return this.size === 0 ? 0 : this.ring[this.start]!.seq;
  }

  push(entry: HistoryEntry): void {
    if (this.capacity === 0) return;
    if (this.size > 0 && entry.seq !== this.lastSeq + 1) this.clear();
    if (this.size < this.capacity) {
      this.ring[(this.start + this.size) % this.capacity] = entry;
      this.size++;
    } else {
      this.ring[this.start] = entry;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  clear(): void {
    this.ring.fill(undefined);
    this.start = 0;
    this.size = 0;
  }

  /**
   * The updates after `since`, oldest first, when the history holds every one of them up to
   * `current` (the topic's latest seq); `recovered: false` when it does not, or when `since`
   * is ahead of `current` (a seq this instance never saw).
   */
  since(since: number, current: number): Recovery {
    if (since === current) return { recovered: true, entries: [] };
    if (since > current || this.size === 0 || this.lastSeq !== current || this.firstSeq > since + 1) return { recovered: false };
    const out: HistoryEntry[] = [];
    for (let i = 0; i < this.size; i++) {
      const e = this.ring[(this.start + i) % this.capacity]!;
      if (e.seq > since) out.push(e);
    }
    return { recovered: true, entries: out };
  }
}
