import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, MessageParser } from './message-parser';

const parser = new MessageParser();
const parse = (v: unknown) => parser.parseText(typeof v === 'string' ? v : JSON.stringify(v));

describe('MessageParser', () => {
  it('accepts every client message in its documented shape', () => {
    const ok: unknown[] = [
      { type: 'ping', data: {} },
      { type: 'ping' },
      { type: 'subscribe_asset', data: { symbol: ' aapl ' }, id: 1, timestamp: '2024-01-15T10:30:00Z' },
      { type: 'subscribe_asset', data: { symbols: ['BTC-USD', 'eurusd', 'BRK.B', 'ES=F'] } },
      { type: 'unsubscribe_asset', data: { symbol: 'AAPL' } },
      { type: 'subscribe_portfolio', data: { portfolio_id: 123 } },
      { type: 'subscribe_portfolio', data: { portfolio_id: '123' } },
      { type: 'unsubscribe_portfolio', data: { portfolio_id: 1 }, id: 'abc' },
      { type: 'list_subscriptions', data: {} },
      { type: 'set_options', data: { batch_ms: 50 } },
      { type: 'set_options', data: { batch_ms: 0 } },
    ];
    for (const m of ok) expect(parse(m), JSON.stringify(m)).toMatchObject({ ok: true });
  });

  it('normalises symbols and numeric portfolio ids', () => {
    const a = parse({ type: 'subscribe_asset', data: { symbols: [' btc-usd', 'msft '] } });
    expect(a.ok && a.message.type === 'subscribe_asset' && a.message.data.symbols).toEqual(['BTC-USD', 'MSFT']);
    const p = parse({ type: 'subscribe_portfolio', data: { portfolio_id: '42' } });
    expect(p.ok && p.message.type === 'subscribe_portfolio' && p.message.data.portfolio_id).toBe(42);
  });

  it.each([
    ['{bad json', 'INVALID_JSON'],
    ['[1,2]', 'VALIDATION_FAILED'],
    ['{"type":7}', 'VALIDATION_FAILED'],
    ['{"type":"nope","id":3}', 'UNKNOWN_TYPE'],
    ['{"type":"subscribe_asset","data":{"symbol":"AAPL","symbols":["MSFT"]}}', 'VALIDATION_FAILED'],
    ['{"type":"subscribe_asset","data":{"symbols":["AAPL",5]}}', 'VALIDATION_FAILED'],
    ['{"type":"subscribe_asset","data":"AAPL"}', 'VALIDATION_FAILED'],
    ['{"type":"subscribe_asset"}', 'VALIDATION_FAILED'],
    ['{"type":"subscribe_portfolio","data":{"portfolio_id":1.5}}', 'VALIDATION_FAILED'],
    ['{"type":"subscribe_portfolio","data":{"portfolio_id":2147483648}}', 'VALIDATION_FAILED'],
    ['{"type":"list_subscriptions","data":{"x":1}}', 'VALIDATION_FAILED'],
    ['{"type":"ping","id":{"a":1}}', 'VALIDATION_FAILED'],
    ['{"type":"ping","id":1.5}', 'VALIDATION_FAILED'],
    ['{"type":"ping","extra":1}', 'VALIDATION_FAILED'],
    ['{"type":"ping","data":{"__proto__":{"x":1}}}', 'VALIDATION_FAILED'],
    ['{"type":"subscribe_asset","data":{"symbol":"^GSPC"}}', 'VALIDATION_FAILED'],
    ['{"type":"set_options","data":{"batch_ms":5000}}', 'VALIDATION_FAILED'],
  ])('%s -> %s', (text, code) => {
    const r = parse(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  it('reports the request type and a valid id with the error', () => {
    const r = parse({ type: 'subscribe_asset', data: { symbol: 5 }, id: 'req-1' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.requestType).toBe('subscribe_asset');
      expect(r.error.id).toBe('req-1');
      expect(r.error.details?.[0]).toMatch(/^data\.symbol: /);
    }
  });

  it('refuses nesting deeper than MAX_DEPTH without recursion trouble', () => {
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    const r = parser.parseText(`{"type":"ping","data":${deep}}`);
    expect(r.ok).toBe(false);
    let ok: unknown = 1;
    for (let i = 0; i < MAX_DEPTH - 2; i++) ok = { a: ok };
    expect(parse({ type: 'ping', data: ok }).ok).toBe(true);
  });

  it('Socket.IO: event name is the type; payload is data or a full envelope', () => {
    expect(parser.parseEvent('subscribe_asset', [{ symbol: 'AAPL' }])).toMatchObject({
      ok: true,
      message: { type: 'subscribe_asset', data: { symbol: 'AAPL' } },
    });
    expect(parser.parseEvent('subscribe_asset', [{ type: 'subscribe_asset', data: { symbol: 'AAPL' }, id: 2 }])).toMatchObject({
      ok: true,
      message: { id: 2 },
    });
    expect(parser.parseEvent('ping', [])).toMatchObject({ ok: true });
    expect(parser.parseEvent('subscribe_asset', [{ type: 'ping' }])).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(parser.parseEvent('ping', [Buffer.from('x')])).toMatchObject({ ok: false, error: { code: 'INVALID_JSON' } });
    expect(parser.parseEvent('what', [{}])).toMatchObject({ ok: false, error: { code: 'UNKNOWN_TYPE', requestType: 'what' } });
  });
});
