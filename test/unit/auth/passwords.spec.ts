import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../../src/auth/passwords';

// Made by the `argon2` package (node-argon2 0.45, argon2id defaults) before the switch to
// @node-rs/argon2: accounts created then must still log in.
const LEGACY_HASH = '$argon2id$v=19$m=65536,p=4,t=3$QCr734t1YaOB03iRSs1Oyw$zyRCj0xPDWsGV6cupoSlEMgT//bBYgX40MdQq/ihYNU';
const LEGACY_PASSWORD = 'correct horse battery staple';

describe('passwords', () => {
  it('verifies a hash stored by the previous argon2 library, and refuses a wrong password for it', async () => {
    expect(await verifyPassword(LEGACY_HASH, LEGACY_PASSWORD)).toBe(true);
    expect(await verifyPassword(LEGACY_HASH, LEGACY_PASSWORD + '!')).toBe(false);
  });

  it('hashes with argon2id and the same parameters, salted (two hashes of one password differ)', async () => {
    const a = await hashPassword('s3cret-password');
    const b = await hashPassword('s3cret-password');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=65536,t=3,p=4\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, 's3cret-password')).toBe(true);
    expect(await verifyPassword(b, 'wrong-password')).toBe(false);
  });

  it('answers false, without throwing, for a malformed or empty hash', async () => {
    expect(await verifyPassword('not-a-hash', 'x')).toBe(false);
    expect(await verifyPassword('', 'x')).toBe(false);
    expect(await verifyPassword('$argon2id$v=19$m=65536,t=3,p=4$broken', 'x')).toBe(false);
  });
});
