import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigValidationError } from '../config/env.validation';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * TLS options of the process's Redis clients, read once at start-up.
 *
 * `rediss://` URLs are TLS (ioredis: server certificate checked against the system's CAs
 * and the URL's host name); REDIS_TLS_CA_FILE adds the CA of a server whose certificate a
 * private CA signed. Credentials in the URL (`redis://:password@host`, `redis://user:password@host`)
 * are ioredis's AUTH, nothing to do here.
 *
 * Throws a ConfigValidationError (one paragraph at start-up, no stack) when the file cannot
 * be read, holds no PEM certificate, or is set for a URL that is not rediss://.
 */
export function redisTlsOptions(url: string | undefined, caFile: string | undefined): ConnectionOptions | undefined {
  if (!url || !caFile) return undefined;
  if (!/^rediss:/i.test(url)) {
    throw new ConfigValidationError(
      `Invalid configuration:\n  REDIS_TLS_CA_FILE=${JSON.stringify(caFile)} is set but REDIS_URL is not a TLS URL: ` +
        'use rediss://host:port to reach Redis over TLS, or unset REDIS_TLS_CA_FILE',
    );
  }
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new ConfigValidationError(
      `Invalid configuration:\n  REDIS_TLS_CA_FILE=${JSON.stringify(caFile)} cannot be read (${(err as Error).message}): ` +
        'point it at the PEM file of the CA that signed the Redis server certificate, readable by this process',
    );
  }
  if (!PEM_CERT.test(pem)) {
    throw new ConfigValidationError(
      `Invalid configuration:\n  REDIS_TLS_CA_FILE=${JSON.stringify(caFile)} holds no PEM certificate ` +
        '(-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----): point it at the CA certificate of the Redis server',
    );
  }
  return { ca: [pem] };
}
