import { beforeAll, describe, expect, it } from 'vitest';

type Lib = typeof import('../../../bench/lib/cpuprofile.mjs');
let lib: Lib;

beforeAll(async () => {
  lib = await import('../../../bench/lib/cpuprofile.mjs');
});

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0, scriptId: '0' });

/** (root) → (idle); (root) → onPrices → writev; (root) → scrape; (root) → (garbage collector). */
const profile = (samples: number[], deltasMs: number[]) => ({
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 5, 6] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('onPrices', 'file:///app/dist/hub.js', 9), children: [4] },
    { id: 4, callFrame: frame('writev') },
    { id: 5, callFrame: frame('scrape', 'file:///app/dist/metrics.js', 1) },
    { id: 6, callFrame: frame('(garbage collector)') },
  ],
  startTime: 0,
  endTime: 0,
  samples,
  timeDeltas: deltasMs.map((ms) => ms * 1000),
});

describe('bench cpuprofile: long tasks', () => {
  it('finds stretches of busy samples of at least minMs, with what held them (inclusive, once per sample)', () => {
    // busy 4+4+4 = 12 ms (onPrices, writev under it, then GC), idle, busy 3 ms (scrape), idle, busy 9 ms (scrape)
    const p = profile([3, 4, 6, 2, 5, 2, 5, 5, 5], [4, 4, 4, 1, 3, 1, 3, 3, 3]);
    const tasks = lib.longTasks(p, { minMs: 8, root: '/app/' });
    expect(tasks.map((t) => t.ms)).toEqual([12, 9]);
    expect(tasks[0].held).toEqual(['onPrices dist/hub.js:10 8 ms', '(garbage collector) 4 ms']);
    expect(tasks[1].held).toEqual(['scrape dist/metrics.js:2 9 ms']);
  });

  it('a profile that never idles is one task; nothing reaches the bar: none', () => {
    expect(lib.longTasks(profile([3, 3], [5, 5]), { minMs: 8 }).map((t) => t.ms)).toEqual([10]);
    expect(lib.longTasks(profile([3, 2, 3], [5, 1, 5]), { minMs: 8 })).toEqual([]);
  });
});
