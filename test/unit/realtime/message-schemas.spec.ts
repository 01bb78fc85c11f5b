import { getMetadataStorage } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { MessageParser } from '../../../src/realtime/hub/message-parser';
import { CLIENT_MESSAGE_TYPES, ClientMessageType } from '../../../src/realtime/protocol/client-messages';
import {
  AssetSelectionDto,
  AssetSubscriptionDto,
  CLIENT_MESSAGE_DTOS,
  ConnectionOptionsDto,
  PortfolioSelectionDto,
  PortfolioSubscriptionDto,
} from '../../../src/realtime/protocol/client-messages.dto';
import { CLIENT_MESSAGE_EXAMPLES, SERVER_MESSAGE_EXAMPLES } from '../../../src/realtime/protocol/message-examples';
import {
  CLIENT_DATA_OPTIONAL,
  CLIENT_DATA_SCHEMAS,
  clientEnvelopeSchema,
  SERVER_DATA_SCHEMAS,
  serverEnvelopeSchema,
} from '../../../src/realtime/protocol/message-schemas';
import { SERVER_MESSAGE_TYPES } from '../../../src/realtime/protocol/server-messages';
import { checkSchema } from '../../support/json-schema-lite';

/** class-validator metadata of a DTO class (its own and inherited), by property. */
function validated(dto: new () => object): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false)) {
    if (!out.has(m.propertyName)) out.set(m.propertyName, new Set());
    out.get(m.propertyName)!.add(m.type);
  }
  return out;
}
const keys = (o: unknown) => Object.keys(o as object).sort();
const parser = new MessageParser();

describe('realtime message schemas (AsyncAPI) agree with the DTOs the server validates with', () => {
  it('has a data schema for exactly the client and server message types', () => {
    expect(keys(CLIENT_DATA_SCHEMAS)).toEqual([...CLIENT_MESSAGE_TYPES].sort());
    expect(keys(SERVER_DATA_SCHEMAS)).toEqual([...SERVER_MESSAGE_TYPES].sort());
  });

  it.each(CLIENT_MESSAGE_TYPES)('%s: the envelope lists the DTO’s fields, `data` required exactly when the DTO requires it', (type) => {
    const dto = CLIENT_MESSAGE_DTOS[type];
    const meta = validated(dto);
    const envelope = clientEnvelopeSchema(type);
    expect(keys(envelope.properties)).toEqual([...meta.keys()].sort());
    const dataOptional = meta.get('data')!.has('conditionalValidation') && !meta.get('data')!.has('isDefined');
    expect((CLIENT_DATA_OPTIONAL as readonly ClientMessageType[]).includes(type)).toBe(dataOptional);
    expect((envelope.required as readonly string[]).includes('data')).toBe(!dataOptional);
  });

  it('the data schemas list the fields of the nested DTOs', () => {
    expect(keys(CLIENT_DATA_SCHEMAS.subscribe_asset.properties)).toEqual([...validated(AssetSubscriptionDto).keys()].sort());
    expect(keys(CLIENT_DATA_SCHEMAS.unsubscribe_asset.properties)).toEqual([...validated(AssetSelectionDto).keys()].sort());
    expect(keys(CLIENT_DATA_SCHEMAS.subscribe_portfolio.properties)).toEqual([...validated(PortfolioSubscriptionDto).keys()].sort());
    expect(keys(CLIENT_DATA_SCHEMAS.unsubscribe_portfolio.properties)).toEqual([...validated(PortfolioSelectionDto).keys()].sort());
    expect(keys(CLIENT_DATA_SCHEMAS.set_options.properties)).toEqual([...validated(ConnectionOptionsDto).keys()].sort());
  });

  it.each(CLIENT_MESSAGE_TYPES)('%s: the example is accepted by the server’s parser and by the schema', (type) => {
    const example = CLIENT_MESSAGE_EXAMPLES[type];
    const parsed = parser.parseValue(structuredClone(example));
    expect(parsed.ok ? 'accepted' : parsed.error.message).toBe('accepted');
    expect(checkSchema(example, clientEnvelopeSchema(type))).toEqual([]);
  });

  it.each(SERVER_MESSAGE_TYPES)('%s: the example fits the schema', (type) => {
    expect(checkSchema(SERVER_MESSAGE_EXAMPLES[type], serverEnvelopeSchema(type))).toEqual([]);
  });

  // Messages the server refuses must not fit the schema either (and the other way round for the accepted ones above).
  it.each([
    ['both symbol and symbols', { type: 'subscribe_asset', data: { symbol: 'AAPL', symbols: ['MSFT'] } }],
    ['neither symbol nor symbols', { type: 'subscribe_asset', data: {} }],
    ['a malformed symbol', { type: 'subscribe_asset', data: { symbol: 'A A' } }],
    ['too many symbols', { type: 'subscribe_asset', data: { symbols: Array.from({ length: 101 }, (_, i) => `S${i}`) } }],
    ['an unknown data field', { type: 'unsubscribe_asset', data: { symbol: 'AAPL', extra: 1 } }],
    ['an unknown envelope field', { type: 'ping', data: {}, extra: 1 }],
    ['portfolio_id 0', { type: 'subscribe_portfolio', data: { portfolio_id: 0 } }],
    ['a negative since_seq', { type: 'subscribe_asset', data: { symbol: 'AAPL', since_seq: -1 } }],
    ['a fractional since_seq', { type: 'subscribe_asset', data: { symbol: 'AAPL', since_seq: 1.5 } }],
    ['a since seq that is a string', { type: 'subscribe_asset', data: { symbols: ['AAPL'], since: { AAPL: '4' } } }],
    ['since_seq on unsubscribe', { type: 'unsubscribe_asset', data: { symbol: 'AAPL', since_seq: 3 } }],
    ['since_seq on unsubscribe_portfolio', { type: 'unsubscribe_portfolio', data: { portfolio_id: 1, since_seq: 3 } }],
    ['a missing portfolio_id', { type: 'unsubscribe_portfolio', data: {} }],
    ['batch_ms 5', { type: 'set_options', data: { batch_ms: 5 } }],
    ['batch_ms 1001', { type: 'set_options', data: { batch_ms: 1001 } }],
    ['portfolio_min_change_bps 10001', { type: 'set_options', data: { portfolio_min_change_bps: 10001 } }],
    ['portfolio_min_change_bps -1', { type: 'set_options', data: { portfolio_min_change_bps: -1 } }],
    ['portfolio_min_change_bps 2.5', { type: 'set_options', data: { portfolio_min_change_bps: 2.5 } }],
    ['portfolio_max_interval 3601', { type: 'set_options', data: { portfolio_max_interval: 3601 } }],
    ['portfolio_max_interval as a string', { type: 'set_options', data: { portfolio_max_interval: '5' } }],
    ['portfolio_positions not a boolean', { type: 'set_options', data: { portfolio_positions: 1 } }],
    ['data in list_subscriptions', { type: 'list_subscriptions', data: { x: 1 } }],
    ['no data where it is required', { type: 'set_options' }],
    ['an id of 65 characters', { type: 'ping', data: {}, id: 'x'.repeat(65) }],
  ] as const)('refuses %s, and so does the schema', (_what, message) => {
    expect(parser.parseValue(structuredClone(message)).ok).toBe(false);
    expect(checkSchema(message, clientEnvelopeSchema(message.type as ClientMessageType))).not.toEqual([]);
  });

  // Rules between fields that the schema only describes in words: the server refuses them.
  it.each([
    ['since_seq with symbols', { type: 'subscribe_asset', data: { symbols: ['AAPL'], since_seq: 3 } }],
    ['since with symbol', { type: 'subscribe_asset', data: { symbol: 'AAPL', since: { AAPL: 3 } } }],
    ['since naming a symbol not in symbols', { type: 'subscribe_asset', data: { symbols: ['AAPL'], since: { MSFT: 3 } } }],
    ['since as an array', { type: 'subscribe_asset', data: { symbols: ['AAPL'], since: [3] } }],
  ] as const)('the server refuses %s', (_what, message) => {
    const parsed = parser.parseValue(structuredClone(message));
    expect(parsed.ok ? 'accepted' : parsed.error.code).toBe('VALIDATION_FAILED');
  });

  it('accepts what the schema allows beyond the examples (data left out, batch_ms 0, an integer id)', () => {
    for (const message of [
      { type: 'ping' },
      { type: 'list_subscriptions' },
      { type: 'set_options', data: { batch_ms: 0 } },
      { type: 'set_options', data: {} },
      { type: 'set_options', data: { portfolio_min_change_bps: 0, portfolio_max_interval: 0, portfolio_positions: false } },
      { type: 'set_options', data: { portfolio_min_change_bps: 10000, portfolio_max_interval: 3600 } },
      { type: 'subscribe_asset', data: { symbol: 'BRK.B' }, id: 9, timestamp: '2026-01-15T10:30:00Z' },
      { type: 'subscribe_asset', data: { symbol: 'AAPL', since_seq: 0 } },
      { type: 'subscribe_asset', data: { symbols: ['AAPL', 'MSFT'], since: { AAPL: 12 } } },
      { type: 'subscribe_portfolio', data: { portfolio_id: 7, since_seq: 41 } },
    ] as const) {
      expect(checkSchema(message, clientEnvelopeSchema(message.type))).toEqual([]);
      const parsed = parser.parseValue(structuredClone(message));
      expect(parsed.ok ? 'accepted' : parsed.error.message).toBe('accepted');
    }
  });
});
