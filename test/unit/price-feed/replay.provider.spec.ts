import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReplayProvider } from '../../../src/price-feed/providers/replay.provider';
import { VendorRequestError } from '../../../src/price-feed/providers/vendor.errors';
import { testConfig } from './support/config';
import { FIXTURES } from './support/vendor-server';

const FILE = join(FIXTURES, 'replay', 'demo.csv');
const assets = ['AAPL', 'MSFT', 'NOPE'].map((symbol) => ({ symbol, assetType: 'STOCK' as const, lastPrice: null, previousClose: null }));

describe('ReplayProvider', () => {
  it('parses timestamp,symbol,price,volume with a header and epoch or ISO times', () => {
    const rows = ReplayProvider.parse('timestamp,symbol,price,volume\n1704205800,aapl,187.15,10\n2024-01-02T14:30:01Z,AAPL,187.2,\n');
    expect(rows.get('AAPL')).toEqual([
      { t: 1704205800000, price: '187.15', volume: '10' },
      { t: 1704205801000, price: '187.2', volume: null },
    ]);
    expect(() => ReplayProvider.parse('x,AAPL,1,1')).toThrow(/bad timestamp/);
  });

  it('plays the recording at REPLAY_SPEED, dating each quote when it plays, and loops', async () => {
    const p = new ReplayProvider(testConfig({ REPLAY_FILE: FILE, REPLAY_SPEED: '2' }));
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    const first = await p.getQuotes(assets, new Date(t0));
    expect(first.map((q) => [q.symbol, q.price, q.volume])).toEqual([
      ['AAPL', '187.15', '1200'],
      ['MSFT', '370.87', '800'],
    ]);
    expect(first[0].as_of.getTime()).toBe(t0);
    // 1 s of wall time at 2x = 2 s of recording.
    const later = await p.getQuotes(assets, new Date(t0 + 1000));
    expect(later.map((q) => [q.symbol, q.price])).toEqual([
      ['AAPL', '187.31'],
      ['MSFT', '371.02'],
    ]);
    expect(later[0].as_of.getTime()).toBe(t0 + 1000);
    // Recording spans 4 s (+1 s gap) = 2.5 s wall at 2x: at 2.6 s the loop restarted.
    const looped = await p.getQuotes(assets, new Date(t0 + 2600));
    expect(looped.find((q) => q.symbol === 'AAPL')?.price).toBe('187.15');
    expect(looped[0].as_of.getTime()).toBe(t0 + 2500);
  });

  it('fails clearly without REPLAY_FILE and has no daily history', async () => {
    const p = new ReplayProvider(testConfig());
    await expect(p.getQuotes(assets)).rejects.toBeInstanceOf(VendorRequestError);
    await expect(p.getDailyHistory(assets[0], 5)).rejects.toThrow(/no daily history/);
  });
});
