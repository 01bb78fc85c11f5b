/**
 * The pipeline's view of database errors: the one classification in
 * src/database/db-errors.ts (connectivity, timeouts, serialization conflicts).
 * `isTransientDbError`: the data was not the problem, keep the quotes for the next
 * run; `isDbTimeoutError`: the database did not answer in time, so retrying at
 * once would only wait as long again.
 */
export { isDbTimeoutError, isTransientDbError } from '../../database/db-errors';
