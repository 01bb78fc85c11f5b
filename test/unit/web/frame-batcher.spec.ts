import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FrameBatcher } from '../../../web/src/shared/raf';

/** Updates reach the DOM once per animation frame, newest value per key. */
describe('FrameBatcher', () => {
  let frames: (() => void)[];
  const g = globalThis as { requestAnimationFrame?: (cb: () => void) => number };
  let saved: typeof g.requestAnimationFrame;

  beforeEach(() => {
    frames = [];
    saved = g.requestAnimationFrame;
    g.requestAnimationFrame = (cb) => frames.push(cb);
  });
  afterEach(() => {
    g.requestAnimationFrame = saved;
  });

  it('coalesces a burst into one pass per frame with the newest value per key', () => {
    const passes: Map<string, number>[] = [];
    const b = new FrameBatcher<string, number>((batch) => passes.push(new Map(batch)));
    for (let i = 0; i < 50; i++) b.push(i % 2 === 0 ? 'AAPL' : 'MSFT', i);
    expect(frames).toHaveLength(1); // one frame requested for the whole burst
    expect(passes).toEqual([]);
    frames.shift()!();
    expect(passes).toEqual([
      new Map([
        ['AAPL', 48],
        ['MSFT', 49],
      ]),
    ]);
  });

  it('asks for a new frame after each flush, and none while nothing is pending', () => {
    const passes: number[][] = [];
    const b = new FrameBatcher<string, number>((batch) => passes.push([...batch.values()]));
    b.push('A', 1);
    frames.shift()!();
    expect(frames).toHaveLength(0);
    b.push('A', 2);
    b.push('B', 3);
    expect(frames).toHaveLength(1);
    frames.shift()!();
    expect(passes).toEqual([[1], [2, 3]]);
  });

  it('keeps only the newest value per key while frames do not run (hidden tab)', () => {
    let last: Map<string, number> | undefined;
    const b = new FrameBatcher<string, number>((batch) => (last = batch));
    for (let i = 0; i < 10_000; i++) b.push(`S${i % 3}`, i);
    frames.shift()!();
    expect(last).toEqual(
      new Map([
        ['S0', 9999],
        ['S1', 9997],
        ['S2', 9998],
      ]),
    );
  });
});
