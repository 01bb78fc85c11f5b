import { VendorCircuitOpenError, VendorQuotaError, VendorRateLimitedError } from './vendor.errors';

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Failures after which a per-symbol vendor should stop asking for the rest of the batch. */
export function stopsBatch(err: unknown): boolean {
  return err instanceof VendorQuotaError || err instanceof VendorRateLimitedError || err instanceof VendorCircuitOpenError;
}
