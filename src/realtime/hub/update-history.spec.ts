import { describe, expect, it } from 'vitest';
import type { PriceTick } from '../../bus/bus.messages';
import { HistoryEntry, UpdateHistory } from './update-history';

const tick = (seq: number): PriceTick => ({
  symbol: 'AAPL',
  price: String(100 + seq),
  previous_close: null,
  high: null,
  low: null,
  volume: null,
  as_of: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
  source: 'test',
  seq,
});
const entry = (seq: number): HistoryEntry => ({ seq, tick: tick(seq), publishedAt: seq });
const seqs = (h: UpdateHistory, since: number, current: number) => {
  const r = h.since(since, current);
  return r.recovered ? r.entries.map((e) => e.seq) : null;
};

describe('UpdateHistory', () => {
  it('replays exactly the updates after since, oldest first', () => {
    const h = new UpdateHistory(8);
    for (let s = 11; s <= 15; s++) h.push(entry(s));
    expect(seqs(h, 12, 15)).toEqual([13, 14, 15]);
    expect(seqs(h, 10, 15)).toEqual([11, 12, 13, 14, 15]);
    expect(seqs(h, 15, 15)).toEqual([]);
  });

  it('keeps only the last `capacity` updates and refuses a gap older than them', () => {
    const h = new UpdateHistory(4);
    for (let s = 1; s <= 10; s++) h.push(entry(s));
    expect(h.length).toBe(4);
    expect([h.firstSeq, h.lastSeq]).toEqual([7, 10]);
    expect(seqs(h, 6, 10)).toEqual([7, 8, 9, 10]);
    expect(seqs(h, 5, 10)).toBeNull();
  });

  it('starts again after a hole in the seqs, so it never replays across a missed update', () => {
    const h = new UpdateHistory(8);
    for (const s of [1, 2, 3, 5, 6]) h.push(entry(s));
    expect([h.firstSeq, h.lastSeq, h.length]).toEqual([5, 6, 2]);
    expect(seqs(h, 2, 6)).toBeNull();
    expect(seqs(h, 4, 6)).toEqual([5, 6]);
  });

  it('refuses a since ahead of the current seq, and a current seq it does not end at', () => {
    const h = new UpdateHistory(8);
    for (let s = 1; s <= 3; s++) h.push(entry(s));
    expect(seqs(h, 7, 3)).toBeNull();
    expect(seqs(h, 1, 4)).toBeNull();
    expect(seqs(new UpdateHistory(8), 1, 3)).toBeNull();
  });

  it('holds nothing with capacity 0 (resume off): only an up-to-date client recovers', () => {
    const h = new UpdateHistory(0);
    h.push(entry(1));
    expect(h.length).toBe(0);
    expect(seqs(h, 0, 1)).toBeNull();
    expect(seqs(h, 1, 1)).toEqual([]);
  });
});
