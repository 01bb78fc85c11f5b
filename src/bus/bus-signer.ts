import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signed envelope of every message on the Redis bus (docs/bus.md).
 *
 * On the wire (the Redis channel `<REDIS_PREFIX><topic>`), one JSON document:
 *
 *     {"v":1,"sig":"<64 lowercase hex digits>","body":<the message as JSON>}
 *
 * written exactly in this order and spacing, so a receiver finds the body without parsing:
 * it is everything between `"body":` and the final `}`. `sig` is
 *
 *     HMAC-SHA256(key = BUS_SECRET as UTF-8, data = "rm-bus/1\n" + topic + "\n" + body)
 *
 * over the body's exact characters (UTF-8), so nothing is re-serialised before checking,
 * and the topic is bound in: a message signed for one channel is not valid on another.
 * Receivers check it (constant-time comparison) before they parse the body at all, and
 * drop anything else with reason `bad_signature`: unsigned JSON, another envelope
 * version, a wrong key. One HMAC per message, whatever the number of ticks or clients.
 *
 * Not covered: replay. Anyone who can read the channel can publish a message seen earlier
 * again. Receivers never move a price back in time (older `as_of` is ignored), a replayed
 * `portfolio.changed` only makes instances re-read that portfolio from PostgreSQL, and a
 * replayed `session.ended` only ends a session's portfolio subscriptions early.
 */
const HEAD = '{"v":1,"sig":"'; // envelope version 1
const MID = '","body":';
const SIG_HEX = 64;
/** Offset of the body in an envelope: HEAD + signature + MID. */
const BODY_AT = HEAD.length + SIG_HEX + MID.length;
const HEX = /^[0-9a-f]{64}$/;
const DOMAIN = 'rm-bus/1\n';

/** Shortest secret accepted (BUS_SECRET is validated with the same bound). */
const BUS_SECRET_MIN_LENGTH = 32;

export type OpenResult = { ok: true; body: string } | { ok: false; reason: 'bad_signature'; detail: string };

/** Seals and opens bus envelopes with one shared secret. */
export class BusSigner {
  private readonly key: Buffer;

  constructor(secret: string | Buffer) {
    this.key = Buffer.isBuffer(secret) ? Buffer.from(secret) : Buffer.from(secret, 'utf8');
    if (this.key.length < BUS_SECRET_MIN_LENGTH) throw new Error(`the bus secret must be at least ${BUS_SECRET_MIN_LENGTH} bytes long`);
  }

  /** The envelope of `body` (a JSON text) for `topic`. */
  seal(topic: string, body: string): string {
    return `${HEAD}${this.mac(topic, body).toString('hex')}${MID}${body}}`;
  }

  /** The body of an envelope for `topic` when its signature is right (nothing else is looked at). */
  open(topic: string, raw: string): OpenResult {
    if (typeof raw !== 'string' || raw.length < BODY_AT + 2 || !raw.startsWith(HEAD) || raw.charCodeAt(raw.length - 1) !== 125 /* } */) {
      return { ok: false, reason: 'bad_signature', detail: 'not a signed envelope' };
    }
    if (!raw.startsWith(MID, HEAD.length + SIG_HEX)) return { ok: false, reason: 'bad_signature', detail: 'not a signed envelope' };
    const sig = raw.slice(HEAD.length, HEAD.length + SIG_HEX);
    if (!HEX.test(sig)) return { ok: false, reason: 'bad_signature', detail: 'malformed signature' };
    const body = raw.slice(BODY_AT, -1);
    const expected = this.mac(topic, body);
    if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return { ok: false, reason: 'bad_signature', detail: 'signature does not match' };
    return { ok: true, body };
  }

  private mac(topic: string, body: string): Buffer {
    return createHmac('sha256', this.key).update(DOMAIN).update(topic).update('\n').update(body, 'utf8').digest();
  }
}
