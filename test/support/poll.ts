/** A value that counts as "done" for poll(): anything but false, 0, '', null and undefined. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * The one polling helper of the tests: calls `fn` until it returns a truthy value and
 * returns that value. Bounded in time (`timeoutMs`) and in attempts; an attempt that throws
 * counts as "not yet". On timeout it throws, naming `what` and the last result or error.
 */
export async function poll<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 15_000, everyMs = 20): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  const attempts = Math.ceil(timeoutMs / Math.max(1, everyMs)) + 2;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const v = await fn();
      if (v) return v as Truthy<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  const detail = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
}

/**
 * An explicit, bounded observation window: waits `ms` so a test can then assert that
 * something did NOT happen meanwhile (no update after an unsubscribe, no second writer),
 * or lets a duration the code under test measures (a breaker's cooldown) pass.
 * Never a way to wait for something to happen: poll() does that.
 */
export function observeFor(ms: number, _why: string): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
