import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { RecordedPoint } from '../../portfolios/intraday/intraday-points';
import { IntradaySeriesService } from '../../portfolios/intraday/intraday-series.service';
import type { PortfolioSeriesRange } from '../protocol/client-messages';
import type { PortfolioPointData } from '../protocol/server-messages';
import type { Connection } from './connection';
import { RealtimeHub } from './realtime-hub.service';

/** What one connection asked of one portfolio's series. */
interface SeriesWatch {
  range: PortfolioSeriesRange;
  /** Points recorded before the series went out (sent after it, unless it holds them); null once it went out. */
  pending: PortfolioPointData[] | null;
}

/**
 * `subscribe_portfolio` with `series`: the intraday value series of that portfolio once (a
 * `portfolio_series`, after `subscribed` and the snapshot), then every point this instance records
 * for it (a `portfolio_point`), to the connections that asked on this instance. Each instance
 * records and pushes its own points (IntradayRecorderService): their values agree, prices being
 * the same everywhere.
 *
 * Ownership is checked before (PortfolioOwnerWsGuard, as for every subscribe_portfolio); a point
 * goes only to a connection that still holds the portfolio and whose user owns it. Both messages
 * are one-off messages (hub.push: never conflated, so a slow connection never loses a point of
 * its series; counted against the outbound hard limit). Points recorded while the series is being
 * read wait and follow it, minus those it already holds, so the client's series has neither a gap
 * nor a repeat. The latest subscribe_portfolio of a portfolio decides: one without `series`
 * stops the points; unsubscribing (or losing the portfolio) stops them too.
 */
@Injectable()
export class PortfolioSeriesPushes implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeHub');
  /** Who asked for each portfolio's series, by portfolio id. */
  private readonly watchers = new Map<number, Map<Connection, SeriesWatch>>();
  /** The same by connection (its portfolio ids), so a connection that goes is forgotten at once. */
  private readonly byConnection = new Map<Connection, Set<number>>();
  private unsubscribe?: () => void;
  /** Points pushed (stats and tests). */
  pushed = 0;

  constructor(
    private readonly hub: RealtimeHub,
    private readonly series: IntradaySeriesService,
  ) {
    hub.onRelease((conn) => this.release(conn));
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.series.onRecorded((points) => this.fanOut(points));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.watchers.clear();
    this.byConnection.clear();
  }

  /**
   * A subscribe_portfolio of `portfolioId` on `conn` (which holds it now): with a range, the
   * connection wants that series next (`send`) and the points from now on; without, no more
   * points. Returns whether the series is to be sent.
   */
  want(conn: Connection, portfolioId: number, range: PortfolioSeriesRange | undefined): boolean {
    if (range === undefined) {
      this.forget(conn, portfolioId);
      return false;
    }
    let byConn = this.watchers.get(portfolioId);
    if (!byConn) this.watchers.set(portfolioId, (byConn = new Map()));
    byConn.set(conn, { range, pending: [] });
    let ids = this.byConnection.get(conn);
    if (!ids) this.byConnection.set(conn, (ids = new Set()));
    ids.add(portfolioId);
    return true;
  }

  /**
   * Reads the series the connection asked for (`want`) and sends it, then the points recorded
   * meanwhile that it does not hold. A failed read is logged; the live points then flow anyway
   * (the client can read the series over REST: GET /api/portfolios/{id}/history?range=1d).
   */
  async send(conn: Connection, portfolioId: number): Promise<void> {
    const watch = this.watchers.get(portfolioId)?.get(conn);
    if (!watch || watch.pending === null) return;
    let points: Awaited<ReturnType<IntradaySeriesService['series']>> | null = null;
    try {
      points = await this.series.series(portfolioId, watch.range);
    } catch (err) {
      this.logger.warn(`Portfolio series read failed: ${(err as Error).message}`);
    }
    // Unsubscribed, subscribed again, or gone meanwhile: that newer request decides.
    if (this.watchers.get(portfolioId)?.get(conn) !== watch || !this.holds(conn, portfolioId)) return;
    const pending = watch.pending ?? [];
    watch.pending = null;
    const last = points?.at(-1)?.t;
    if (points) this.hub.push(conn, 'portfolio_series', { portfolio_id: portfolioId, range: watch.range, points });
    for (const p of pending) if (last === undefined || p.t > last) this.deliver(conn, p);
  }

  /** Connections watching a portfolio's series (tests and stats). */
  watcherCount(portfolioId: number): number {
    return this.watchers.get(portfolioId)?.size ?? 0;
  }

  /** The points this instance just recorded, to the connections that asked for their portfolio's series. */
  private fanOut(points: readonly RecordedPoint[]): void {
    if (this.watchers.size === 0) return;
    for (const p of points) {
      const byConn = this.watchers.get(p.portfolioId);
      if (!byConn) continue;
      const data: PortfolioPointData = { portfolio_id: p.portfolioId, t: p.t, value: p.value };
      for (const [conn, watch] of byConn) {
        if (!this.holds(conn, p.portfolioId)) {
          this.forget(conn, p.portfolioId); // unsubscribed, or lost the portfolio (logout, deletion)
          continue;
        }
        if (conn.userId !== p.ownerId) continue; // defence in depth: only its owner's sessions
        if (watch.pending) watch.pending.push(data);
        else this.deliver(conn, data);
      }
    }
  }

  private deliver(conn: Connection, data: PortfolioPointData): void {
    this.pushed++;
    this.hub.push(conn, 'portfolio_point', data);
  }

  private holds(conn: Connection, portfolioId: number): boolean {
    return conn.open && (conn.portfolios?.has(portfolioId) ?? false);
  }

  /** The connection is gone (the hub's release hook). */
  private release(conn: Connection): void {
    for (const id of this.byConnection.get(conn) ?? []) this.forget(conn, id);
  }

  private forget(conn: Connection, portfolioId: number): void {
    const byConn = this.watchers.get(portfolioId);
    if (byConn?.delete(conn) && byConn.size === 0) this.watchers.delete(portfolioId);
    const ids = this.byConnection.get(conn);
    if (ids?.delete(portfolioId) && ids.size === 0) this.byConnection.delete(conn);
  }
}
