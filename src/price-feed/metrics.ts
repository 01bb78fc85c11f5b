import { Counter, Gauge, Histogram, register } from 'prom-client';

function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return (register.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames });
}

function histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
  return (register.getSingleMetric(name) as Histogram<L> | undefined) ?? new Histogram({ name, help, labelNames, buckets });
}

/** Circuit breaker states as numbers (price_feed_vendor_circuit_state): the worse, the higher. */
export const CIRCUIT_STATE_VALUES: Readonly<Record<string, number>> = { closed: 0, 'half-open': 1, open: 2, isolated: 3 };

/** Where the vendors' breaker states are read at scrape time (ProviderRouter.vendorStates of each running app). */
const vendorStateSources = new Set<() => Record<string, { breaker: string }>>();

/** Registers a source of vendor breaker states for the scrape; returns the function that unregisters it. */
export function watchVendorStates(source: () => Record<string, { breaker: string }>): () => void {
  vendorStateSources.add(source);
  return () => vendorStateSources.delete(source);
}

function vendorCircuitGauge(): Gauge<'vendor'> {
  const name = 'price_feed_vendor_circuit_state';
  return (
    (register.getSingleMetric(name) as Gauge<'vendor'> | undefined) ??
    new Gauge({
      name,
      help: 'Circuit breaker of each HTTP vendor in use: 0 closed, 1 half-open (trying one request), 2 open (not called), 3 isolated',
      labelNames: ['vendor'],
      collect() {
        this.reset();
        const worst = new Map<string, number>();
        for (const source of vendorStateSources) {
          for (const [vendor, s] of Object.entries(source())) worst.set(vendor, Math.max(worst.get(vendor) ?? 0, CIRCUIT_STATE_VALUES[s.breaker] ?? 0));
        }
        for (const [vendor, v] of worst) this.set({ vendor }, v);
      },
    })
  );
}

/** Price-feed metrics on prom-client's default registry (created once per process). */
export const feedMetrics = {
  quotesAccepted: counter('price_feed_quotes_accepted_total', 'Quotes that passed validation', ['source']),
  quotesRejected: counter('price_feed_quotes_rejected_total', 'Quotes rejected by validation, by reason', ['reason', 'source']),
  batches: counter('price_feed_batches_total', 'Price batches by outcome', ['outcome']),
  runsSkipped: counter('price_feed_runs_skipped_total', 'Scheduled runs skipped because the previous run was still going', []),
  vendorRequests: counter('price_feed_vendor_requests_total', 'Vendor requests by outcome', ['vendor', 'outcome']),
  batchSeconds: histogram(
    'price_feed_batch_duration_seconds',
    'Fetch + validate + write + publish time per batch',
    [],
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ),
  vendorCircuitState: vendorCircuitGauge(),
};
