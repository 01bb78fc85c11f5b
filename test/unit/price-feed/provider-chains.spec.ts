import { describe, expect, it } from 'vitest';
import { parseProviderChains, ProviderConfigError } from '../../../src/price-feed/providers/provider-chains';

const KNOWN = ['simulated', 'yahoo', 'alphavantage', 'coingecko', 'replay'];
const obj = (m: Map<string, string[]>) => Object.fromEntries(m);

describe('PRICE_PROVIDERS parsing', () => {
  it('maps stocks to STOCK and (unless listed) ETF, FUND and BOND; * covers the rest', () => {
    expect(obj(parseProviderChains('stocks=yahoo,alphavantage;crypto=coingecko;*=simulated', KNOWN))).toEqual({
      STOCK: ['yahoo', 'alphavantage'],
      ETF: ['yahoo', 'alphavantage'],
      FUND: ['yahoo', 'alphavantage'],
      BOND: ['yahoo', 'alphavantage'],
      CRYPTO: ['coingecko'],
      FOREX: ['simulated'],
    });
  });

  it('lets etf, fund, bond and forex have their own chains; keys and names are case-insensitive', () => {
    expect(obj(parseProviderChains(' Stocks = Yahoo ; ETF=alphavantage; bond=simulated; forex=yahoo ', KNOWN))).toEqual({
      STOCK: ['yahoo'],
      ETF: ['alphavantage'],
      FUND: ['yahoo'],
      BOND: ['simulated'],
      FOREX: ['yahoo'],
    });
  });

  it('the default is everything simulated', () => {
    expect(new Set(parseProviderChains('*=simulated', KNOWN).values()).size).toBe(1);
    expect(parseProviderChains('*=simulated', KNOWN).size).toBe(6);
  });

  it.each([
    ['', /empty/],
    ['stocks', /not key=provider/],
    ['stocks=', /lists no provider/],
    ['stocks=bloomberg', /unknown provider "bloomberg"/],
    ['shares=yahoo', /unknown key "shares"/],
    ['*=simulated;*=yahoo', /listed twice/],
    ['crypto=coingecko;crypto=yahoo', /listed twice/],
  ])('rejects %j with a clear message', (spec, message) => {
    expect(() => parseProviderChains(spec, KNOWN)).toThrow(ProviderConfigError);
    expect(() => parseProviderChains(spec, KNOWN)).toThrow(message);
  });
});
