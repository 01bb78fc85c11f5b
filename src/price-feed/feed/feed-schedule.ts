import { CronTime } from 'cron';

/**
 * When the feed's batch cycle runs: the cron job `price-feed-batch`, on PRICE_FEED_CRON or on the
 * expression derived from REALTIME_UPDATE_INTERVAL; or, for an interval that no cron expression
 * states exactly (sub-second, fractional, or not dividing a minute, an hour or a day), a
 * fixed-rate timer every REALTIME_UPDATE_INTERVAL seconds (docs/price-feed.md, "Scheduling").
 */
export type FeedSchedule =
  { kind: 'cron'; expression: string; from: 'PRICE_FEED_CRON' | 'REALTIME_UPDATE_INTERVAL' } | { kind: 'timer'; everyMs: number; reason: string };

/** Cron expressions are evaluated in UTC, like the nightly job's. */
export const FEED_CRON_TIME_ZONE = 'UTC';

// The 6-field cron expression (with seconds) that fires exactly every `seconds` seconds, aligned
// to the clock (30 -> "*/30 * * * * *": at :00 and :30 of every minute; 120 -> "0 */2 * * * *");
// undefined when there is none: a fraction of a second, or a number of seconds that divides
// neither a minute (below 60), nor an hour (whole minutes), nor a day (whole hours). A seconds
// list such as "0,45" for 45 would fire at uneven gaps (45 s, then 15 s), so none is made up.
export function cronForInterval(seconds: number): string | undefined {
  if (!Number.isInteger(seconds) || seconds <= 0) return undefined;
  const step = (n: number) => (n === 1 ? '*' : `*/${n}`);
  if (seconds < 60) return 60 % seconds === 0 ? `${step(seconds)} * * * * *` : undefined;
  if (seconds % 60 !== 0) return undefined;
  const minutes = seconds / 60;
  if (minutes < 60) return 60 % minutes === 0 ? `0 ${step(minutes)} * * * *` : undefined;
  if (minutes % 60 !== 0) return undefined;
  const hours = minutes / 60;
  if (hours < 24) return 24 % hours === 0 ? `0 0 ${step(hours)} * * *` : undefined;
  return hours === 24 ? '0 0 0 * * *' : undefined;
}

/** The schedule of the batch cycle: PRICE_FEED_CRON when set, else derived from REALTIME_UPDATE_INTERVAL. */
export function feedSchedule(config: { PRICE_FEED_CRON?: string; REALTIME_UPDATE_INTERVAL: number }): FeedSchedule {
  const set = config.PRICE_FEED_CRON?.trim();
  if (set) return { kind: 'cron', expression: set, from: 'PRICE_FEED_CRON' };
  const seconds = config.REALTIME_UPDATE_INTERVAL;
  const expression = cronForInterval(seconds);
  if (expression) return { kind: 'cron', expression, from: 'REALTIME_UPDATE_INTERVAL' };
  const reason =
    seconds < 1
      ? 'a cron expression fires at most once a second'
      : !Number.isInteger(seconds)
        ? 'a cron expression fires on whole seconds only'
        : 'it does not divide a minute, an hour or a day evenly, so a cron expression would fire at uneven gaps';
  return { kind: 'timer', everyMs: Math.round(seconds * 1000), reason };
}

/** The longest gap (ms) between the next `count` firings of a cron expression (for the staleness warning). */
export function longestGapMs(expression: string, count = 8): number {
  const dates = new CronTime(expression, FEED_CRON_TIME_ZONE).sendAt(count);
  let gap = 0;
  for (let i = 1; i < dates.length; i++) gap = Math.max(gap, dates[i].toMillis() - dates[i - 1].toMillis());
  return gap;
}

// Describes a schedule for the logs: 'cron "*/30 * * * * *" (UTC, from REALTIME_UPDATE_INTERVAL)' or 'every 200 ms (fixed-rate timer)'.
export function describeSchedule(s: FeedSchedule): string {
  return s.kind === 'cron' ? `cron "${s.expression}" (${FEED_CRON_TIME_ZONE}, from ${s.from})` : `every ${s.everyMs} ms (fixed-rate timer)`;
}
