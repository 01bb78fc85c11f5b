/** Base of every failure a vendor adapter reports. `transient` failures are retried. */
export class VendorError extends Error {
  readonly transient: boolean = false;
  /** Whether the failure counts towards opening the vendor's circuit breaker. */
  readonly countsForBreaker: boolean = true;
  constructor(
    readonly vendor: string,
    message: string,
  ) {
    super(`${vendor}: ${message}`);
    this.name = new.target.name;
  }
}

/** 5xx, connection refused/reset, or no answer in time: worth another try. */
export class VendorUnavailableError extends VendorError {
  override readonly transient = true;
  constructor(
    vendor: string,
    message: string,
    readonly status?: number,
  ) {
    super(vendor, message);
  }
}

/** The vendor says our quota is used up (HTTP 429, Alpha Vantage "Note"/"Information"). */
export class VendorQuotaError extends VendorError {}

/** Our own token bucket for the vendor is empty: the request was not sent. */
export class VendorRateLimitedError extends VendorError {
  override readonly countsForBreaker = false;
  constructor(
    vendor: string,
    readonly retryAfterMs: number,
  ) {
    super(vendor, `local rate limit reached, next request allowed in ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

/** The vendor answered, but not in the format we know (bad JSON, missing fields). */
export class VendorFormatError extends VendorError {}

/** The vendor rejected the request (4xx other than 429, Alpha Vantage "Error Message"). */
export class VendorRequestError extends VendorError {
  constructor(
    vendor: string,
    message: string,
    readonly status?: number,
  ) {
    super(vendor, message);
  }
}

/** The vendor's circuit breaker is open: no request was sent. */
export class VendorCircuitOpenError extends VendorError {
  override readonly countsForBreaker = false;
  constructor(vendor: string) {
    super(vendor, 'circuit breaker open');
  }
}

/** The provider cannot serve this kind of request (e.g. history from replay). */
export class VendorNotSupportedError extends VendorError {
  override readonly countsForBreaker = false;
}
