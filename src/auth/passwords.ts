import { hash, verify } from '@node-rs/argon2';

/**
 * argon2id (memory 64 MiB, 3 passes, parallelism 4: the parameters the
 * `argon2` package used, so hashes stored before the switch read the same).
 * `@node-rs/argon2` ships prebuilt N-API binaries: `npm install` needs no compiler.
 */
// `Algorithm` is a `const enum` in the package's typings (no runtime object): 2 is Argon2id.
const ARGON2ID = 2;
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 65536, timeCost: 3, parallelism: 4 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** False for a wrong password or a malformed hash (never throws for bad input). */
export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}
