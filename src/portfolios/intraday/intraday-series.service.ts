import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { trimZeros } from '../../database/decimal.transformer';
import { INTRADAY_RANGE_MS, IntradayPoint, IntradayRange, PlannedPoint, RecordedPoint } from './intraday-points';

export type RecordedListener = (points: readonly RecordedPoint[]) => void;

/** Most points one read returns (the newest ones): a day of one-minute points is 1440. */
export const MAX_SERIES_POINTS = 10_000;

/**
 * The intraday value series of the portfolios (table portfolio_value_points, migration
 * 1764600000000): written by IntradayRecorderService, read by the history endpoint (`range=1d`)
 * and by `subscribe_portfolio` with `series`. Raw SQL on the app's pool, so every statement is
 * bounded like every other (statement_timeout, the client-side read timeout: db-bounds.ts).
 *
 * Listeners (`onRecorded`) hear of every point written by this instance: the realtime hub pushes
 * them as `portfolio_point` to the connections that asked for the series.
 */
@Injectable()
export class IntradaySeriesService {
  private readonly logger = new Logger('IntradaySeries');
  private readonly listeners = new Set<RecordedListener>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
  ) {}

  /**
   * Writes the points of one interval in ONE statement (unnest of the arrays), in portfolio order
   * (instances writing the same interval at once then wait on each other instead of deadlocking),
   * skipping portfolios deleted meanwhile, and keeping the point already there when another
   * instance wrote this interval first (ON CONFLICT DO NOTHING). Then tells the listeners.
   * Returns how many rows this instance inserted. Rejects when the statement fails (nothing told).
   */
  async record(at: Date, points: readonly PlannedPoint[]): Promise<number> {
    if (points.length === 0) return 0;
    const rows = (await this.db.query(
      `INSERT INTO portfolio_value_points (portfolio_id, minute, value)
       SELECT v.portfolio_id, $1::timestamptz, v.value
         FROM unnest($2::int[], $3::numeric[]) AS v(portfolio_id, value)
         JOIN portfolios p ON p.id = v.portfolio_id
        ORDER BY v.portfolio_id
       ON CONFLICT (portfolio_id, minute) DO NOTHING
       RETURNING portfolio_id`,
      [at.toISOString(), points.map((p) => p.portfolioId), points.map((p) => p.value)],
    )) as { portfolio_id: number }[];
    const t = at.toISOString();
    this.notify(points.map((p) => ({ portfolioId: p.portfolioId, ownerId: p.ownerId, t, value: p.value })));
    return rows.length;
  }

  /** The points of a range, oldest first, up to MAX_SERIES_POINTS (the newest). */
  async series(portfolioId: number, range: IntradayRange = '1d', now = Date.now()): Promise<IntradayPoint[]> {
    const rows = (await this.db.query(
      `SELECT minute, value FROM portfolio_value_points
        WHERE portfolio_id = $1 AND minute >= $2::timestamptz
        ORDER BY minute DESC LIMIT $3`,
      [portfolioId, new Date(now - INTRADAY_RANGE_MS[range]).toISOString(), MAX_SERIES_POINTS],
    )) as { minute: Date | string; value: string }[];
    return rows.reverse().map((r) => ({ t: new Date(r.minute).toISOString(), value: trimZeros(String(r.value)) }));
  }

  /** Deletes the points older than PORTFOLIO_INTRADAY_DAYS (or `days`); returns how many. */
  async prune(days = this.config.PORTFOLIO_INTRADAY_DAYS): Promise<number> {
    const res = (await this.db.query(`DELETE FROM portfolio_value_points WHERE minute < now() - make_interval(days => $1::int)`, [days])) as
      [unknown[], number] | unknown[];
    return Array.isArray(res) && typeof res[1] === 'number' ? res[1] : 0;
  }

  /** Called with the points of every interval this instance records; returns a function that removes the listener. */
  onRecorded(listener: RecordedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(points: readonly RecordedPoint[]): void {
    for (const l of this.listeners) {
      try {
        l(points);
      } catch (err) {
        this.logger.error(`Intraday point listener failed: ${String((err as Error)?.stack ?? err)}`);
      }
    }
  }
}
