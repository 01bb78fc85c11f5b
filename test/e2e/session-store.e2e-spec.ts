import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionService } from '../../src/auth/session.service';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';

describe('SessionService.isActive (used by the socket heartbeat re-check)', () => {
  let t: TestApp;
  let sid: string;

  beforeAll(async () => {
    t = await startTestApp();
    await request(t.url).post('/auth/register').send({ username: 'sess-user', password: 'password-123' }).expect(201);
    await request(t.url).post('/auth/login').send({ username: 'sess-user', password: 'password-123' }).expect(200);
    const rows = await sql<{ sid: string }>(t.databaseUrl, `SELECT sid FROM session WHERE (sess->'passport'->>'user') IS NOT NULL`);
    expect(rows).toHaveLength(1);
    sid = rows[0].sid;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is true for a logged-in session and false for an unknown one', async () => {
    const sessions = t.app.get(SessionService);
    expect(await sessions.isActive(sid)).toBe(true);
    expect(await sessions.isActive('no-such-session')).toBe(false);
  });

  it('keeps a session while the store cannot be read, and drops it once the store says it is gone', async () => {
    const sessions = t.app.get(SessionService);
    await sql(t.databaseUrl, 'ALTER TABLE session RENAME TO session_offline');
    try {
      expect(await sessions.isActive(sid)).toBe(true);
    } finally {
      await sql(t.databaseUrl, 'ALTER TABLE session_offline RENAME TO session');
    }
    await sql(t.databaseUrl, "UPDATE session SET expire = now() - interval '1 minute' WHERE sid = $1", [sid]);
    expect(await sessions.isActive(sid)).toBe(false);
  });
});
