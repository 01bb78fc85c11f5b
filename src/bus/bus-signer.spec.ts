import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BusSigner } from './bus-signer';

const SECRET = 'unit-test-bus-secret-0123456789-abcdefghij';
const OTHER = 'another-bus-secret-0123456789-abcdefghijkl';

describe('BusSigner', () => {
  const signer = new BusSigner(SECRET);
  const body = JSON.stringify({ ticks: [{ symbol: 'AAPL', price: '189.98' }], published_at: 1, origin: 'unit' });

  it('seals into the documented envelope: {"v":1,"sig":"<hex>","body":<JSON>}, HMAC-SHA256 over the topic and the exact body', () => {
    const raw = signer.seal('prices.committed', body);
    const parsed = JSON.parse(raw) as { v: number; sig: string; body: unknown };
    expect(Object.keys(parsed)).toEqual(['v', 'sig', 'body']);
    expect(parsed.v).toBe(1);
    expect(parsed.body).toEqual(JSON.parse(body));
    expect(raw).toBe(`{"v":1,"sig":"${parsed.sig}","body":${body}}`);
    const expected = createHmac('sha256', SECRET).update(`rm-bus/1\nprices.committed\n${body}`).digest('hex');
    expect(parsed.sig).toBe(expected);
  });

  it('opens what it sealed, and what another signer with the same secret sealed', () => {
    const raw = new BusSigner(SECRET).seal('session.ended', '{"session_id":"abc","user_id":1}');
    expect(signer.open('session.ended', raw)).toEqual({ ok: true, body: '{"session_id":"abc","user_id":1}' });
    // Non-ASCII bodies are signed as UTF-8.
    const text = JSON.stringify({ origin: 'café ✓ 日本' });
    expect(signer.open('portfolio.changed', signer.seal('portfolio.changed', text))).toEqual({ ok: true, body: text });
  });

  it('rejects a wrong key, a tampered body or signature, another topic, and anything unsigned', () => {
    const raw = signer.seal('prices.committed', body);
    const bad = (r: unknown, topic = 'prices.committed') => {
      const res = signer.open(topic, r as string);
      expect(res.ok).toBe(false);
      return res.ok ? '' : res.reason;
    };
    expect(bad(new BusSigner(OTHER).seal('prices.committed', body))).toBe('bad_signature');
    expect(bad(raw.replace('189.98', '999999.99'))).toBe('bad_signature');
    expect(bad(raw.replace(/"sig":"(.)/, (_m, c: string) => `"sig":"${c === 'a' ? 'b' : 'a'}`))).toBe('bad_signature');
    expect(bad(raw, 'portfolio.changed')).toBe('bad_signature');
    for (const r of [
      body,
      'null',
      '',
      '{}',
      'not json',
      '{"v":1,"sig":"zz","body":{}}',
      `{"v":2,"sig":"${'0'.repeat(64)}","body":{}}`,
      `{"v":1,"sig":"${'G'.repeat(64)}","body":{}}`,
      `{"v":1,"sig":"${'0'.repeat(64)}","body":{}}`,
      raw.slice(0, -1),
      ` ${raw}`,
      null,
      undefined,
      42,
    ]) {
      expect(bad(r)).toBe('bad_signature');
    }
  });

  it('refuses a short secret', () => {
    expect(() => new BusSigner('too-short')).toThrow(/at least 32/);
    expect(() => new BusSigner(Buffer.alloc(31))).toThrow(/at least 32/);
  });
});
