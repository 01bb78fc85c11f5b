import { Counter, Histogram, register } from 'prom-client';

function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return (register.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames });
}

function histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
  return (register.getSingleMetric(name) as Histogram<L> | undefined) ?? new Histogram({ name, help, labelNames, buckets });
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
};
