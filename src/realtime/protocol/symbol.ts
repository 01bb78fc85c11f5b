/**
 * Symbol syntax accepted on every input, REST and sockets, after trimming and upper-casing
 * (AAPL, BRK.B, BTC-USD, EURUSD=X, ^GSPC). The one definition: the server's DTOs and catalog,
 * the bus validator and the typed client in client/ import it (no imports here, so the
 * browser bundle can take it as it is).
 */
export const SYMBOL_PATTERN = /^[A-Z0-9][A-Z0-9.\-=^]{0,31}$/;
