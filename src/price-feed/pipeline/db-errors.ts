/** SQLSTATEs meaning "the connection or server went away", worth retrying once the database is back. */
const TRANSIENT_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300', '40001', '40P01']);
const TRANSIENT_TEXT =
  /Connection terminated|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|connection error|timeout exceeded when trying to connect|terminating connection|the database system is (starting up|shutting down|in recovery mode)|Client was closed|not queryable|Connection is closed|server closed the connection/i;

/** True when a database error is about connectivity (retry later), not about the data (a retry would fail again). */
export function isTransientDbError(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string; message?: string }; message?: string } | undefined;
  const code = e?.driverError?.code ?? e?.code;
  if (code && TRANSIENT_CODES.has(code)) return true;
  return TRANSIENT_TEXT.test(`${e?.message ?? ''} ${e?.driverError?.message ?? ''}`);
}
