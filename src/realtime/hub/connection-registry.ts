import { Injectable } from '@nestjs/common';
import type { Connection, ConnectionIdentity } from './connection';

/**
 * Every open connection of this instance, with two indexes: per user (the
 * MAX_CONNECTIONS_PER_USER count) and per session (logout and expiry).
 * The owner of each connection's identity (`userId`, `sessionId`, `countedUser`):
 * set by `add`, cleared by `deauthenticate`, written nowhere else.
 */
@Injectable()
export class ConnectionRegistry {
  private readonly connections = new Set<Connection>();
  private readonly byUser = new Map<number, Set<Connection>>();
  private readonly bySession = new Map<string, Set<Connection>>();
  private readonly byTransport = { websocket: 0, socketio: 0, sse: 0 };
  /**
   * Connections in the order they were added, until the idle check has seen them
   * (takeOpenedBefore): cheap to sweep, whatever the number of long-lived connections.
   */
  private fresh: Connection[] = [];
  private freshHead = 0;
  /** Off when nothing sweeps the fresh connections (WS_IDLE_TIMEOUT=0). */
  trackFresh = true;
  /** Told whenever a connection gives up its user slot (closed or logged out): ClusterPresence frees its cluster-wide slot. */
  private readonly slotFreedHooks: ((conn: Connection) => void)[] = [];

  onSlotFreed(hook: (conn: Connection) => void): void {
    this.slotFreedHooks.push(hook);
  }

  get size(): number {
    return this.connections.size;
  }

  all(): IterableIterator<Connection> {
    return this.connections.values();
  }

  countByTransport(): { websocket: number; socketio: number; sse: number } {
    return { ...this.byTransport };
  }

  userConnectionCount(userId: number): number {
    return this.byUser.get(userId)?.size ?? 0;
  }

  userConnections(userId: number): Connection[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  authenticatedUserCount(): number {
    return this.byUser.size;
  }

  /** Connections per logged-in user: [userId, count] (what ClusterPresence mirrors to Redis). */
  *userCounts(): IterableIterator<[number, number]> {
    for (const [userId, conns] of this.byUser) yield [userId, conns.size];
  }

  sessionIds(): string[] {
    return [...this.bySession.keys()];
  }

  sessionConnections(sessionId: string): Connection[] {
    return [...(this.bySession.get(sessionId) ?? [])];
  }

  /**
   * Registers a connection with the identity its handshake established. An authenticated
   * one takes a slot of its user; false (nothing registered) when the user already has
   * `maxPerUser`. Synchronous check-and-add, so concurrent handshakes cannot overshoot.
   */
  add(conn: Connection, identity: ConnectionIdentity | null, maxPerUser: number): boolean {
    conn.userId = identity?.userId ?? null;
    conn.sessionId = identity?.sessionId ?? null;
    if (conn.userId !== null) {
      const mine = this.byUser.get(conn.userId);
      if (mine && mine.size >= maxPerUser) return false;
      this.attachUser(conn);
    }
    this.connections.add(conn);
    this.byTransport[conn.kind]++;
    if (this.trackFresh) this.fresh.push(conn);
    return true;
  }

  /**
   * Connections added before `cutoff` (ms epoch) that the idle check has not seen yet,
   * oldest first; each is returned once, whether or not it is still registered.
   */
  takeOpenedBefore(cutoff: number): Connection[] {
    const out: Connection[] = [];
    while (this.freshHead < this.fresh.length && this.fresh[this.freshHead].openedAt < cutoff) {
      out.push(this.fresh[this.freshHead++]);
    }
    if (this.freshHead === this.fresh.length) {
      this.fresh = [];
      this.freshHead = 0;
    } else if (this.freshHead > 1024 && this.freshHead * 2 > this.fresh.length) {
      this.fresh = this.fresh.slice(this.freshHead);
      this.freshHead = 0;
    }
    return out;
  }

  /** Hands a connection taken by takeOpenedBefore back, for the next sweep after the ones queued now. */
  recheckLater(conn: Connection): void {
    if (this.trackFresh) this.fresh.push(conn);
  }

  remove(conn: Connection): boolean {
    if (!this.connections.delete(conn)) return false;
    this.byTransport[conn.kind]--;
    this.detachUser(conn);
    return true;
  }

  /** The connection's session ended: it stays open, anonymous, and frees its user slot. */
  deauthenticate(conn: Connection): void {
    this.detachUser(conn);
    conn.userId = null;
    conn.sessionId = null;
  }

  private attachUser(conn: Connection): void {
    const userId = conn.userId!;
    let mine = this.byUser.get(userId);
    if (!mine) this.byUser.set(userId, (mine = new Set()));
    mine.add(conn);
    conn.countedUser = userId;
    if (conn.sessionId) {
      let s = this.bySession.get(conn.sessionId);
      if (!s) this.bySession.set(conn.sessionId, (s = new Set()));
      s.add(conn);
    }
  }

  private detachUser(conn: Connection): void {
    if (conn.countedUser !== null) {
      const mine = this.byUser.get(conn.countedUser);
      if (mine?.delete(conn) && mine.size === 0) this.byUser.delete(conn.countedUser);
      conn.countedUser = null;
      for (const hook of this.slotFreedHooks) hook(conn);
    }
    if (conn.sessionId) {
      const s = this.bySession.get(conn.sessionId);
      if (s?.delete(conn) && s.size === 0) this.bySession.delete(conn.sessionId);
    }
  }
}
