import { Client } from 'pg';
import { redactUrl, StartupError } from '../common/startup-error';

const CONNECT_TIMEOUT_MS = 10_000;

/** Why a connection failed, in words a person can act on (from pg's error code or the socket's). */
function explain(err: Error & { code?: string }, target: URL): string {
  const host = target.hostname || 'localhost';
  const port = target.port || '5432';
  const user = decodeURIComponent(target.username) || '(none given)';
  const db = decodeURIComponent(target.pathname.replace(/^\//, '')) || user;
  switch (err.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name "${host}" could not be resolved`;
    case 'ECONNREFUSED':
      return `nothing is listening on ${host}:${port} (connection refused)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${host} cannot be reached from this machine`;
    case 'ETIMEDOUT':
      return `${host}:${port} did not answer`;
    case '28P01':
      return `the password for user "${user}" was refused`;
    case '28000':
      return `the server refused user "${user}" (${err.message})`;
    case '3D000':
      return `the database "${db}" does not exist on ${host}:${port}`;
    case '57P03':
      return `the server on ${host}:${port} is starting up or shutting down`;
    default:
      if (/timeout/i.test(err.message)) return `${host}:${port} did not answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
      return err.message;
  }
}

/**
 * Connects once to DATABASE_URL before the app builds on it, so a wrong
 * setting ends in one paragraph naming it (not a retry loop of stack traces).
 */
export async function checkDatabaseUrl(raw: string): Promise<void> {
  let target: URL;
  try {
    target = new URL(raw);
  } catch {
    throw new StartupError(
      `DATABASE_URL is not a URL. Set it like postgres://user:password@host:5432/database, or unset it to use the embedded PostgreSQL under DATA_DIR.`,
    );
  }
  const client = new Client({ connectionString: raw, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: CONNECT_TIMEOUT_MS });
  // An error after connect (the server going away) must not be an unhandled 'error' event here.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new StartupError(
      `Cannot connect to the PostgreSQL server in DATABASE_URL (${redactUrl(raw)}): ${explain(err as Error & { code?: string }, target)}. ` +
        'Check that the server is running and reachable from here, and the host, port, user name, password and database name in DATABASE_URL; ' +
        'or unset DATABASE_URL to use the embedded PostgreSQL under DATA_DIR.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
