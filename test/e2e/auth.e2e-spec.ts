import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessages } from '../../src/bus/bus.messages';
import { MessageBus } from '../../src/bus/message-bus';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { poll } from '../support/poll';

function sessionCookie(res: request.Response): string | undefined {
  const raw = res.headers['set-cookie'] as unknown as string[] | undefined;
  return raw?.find((c) => c.startsWith('rm.sid='));
}

describe('auth: register, login, logout, me', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOGIN_MAX_FAILURES: '4' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('registers a user and answers 201 with its public JSON (no hash)', async () => {
    const res = await request(t.url).post('/auth/register').send({ username: 'alice', password: 'correct horse' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(Number), username: 'alice', is_staff: false, created_at: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toMatch(/hash|argon/i);
    const [row] = await sql<{ password_hash: string }>(t.databaseUrl, `SELECT password_hash FROM users WHERE username = 'alice'`);
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain('correct horse');
  });

  it('refuses a duplicate username with 409', async () => {
    const res = await request(t.url).post('/auth/register').send({ username: 'alice', password: 'another password' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ statusCode: 409, error: 'CONFLICT', message: expect.stringContaining('alice') });
  });

  it.each([
    [{ username: 'bob', password: 'short' }, /password must be at least 8 characters/],
    [{ username: 'b', password: 'long enough' }, /username must be longer than or equal to 3/],
    [{ username: 'bad name!', password: 'long enough' }, /username may contain only/],
    [{ username: 'x'.repeat(151), password: 'long enough' }, /username must be shorter than or equal to 150/],
    [{ username: 'bob', password: 12345678 }, /password must be a string/],
    [{ username: 'bob', password: 'long enough', is_staff: true }, /property is_staff should not exist/],
    [{}, /username/],
  ])('rejects an invalid registration %j with 400', async (body, message) => {
    const res = await request(t.url).post('/auth/register').send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'BAD_REQUEST' });
    expect(res.body.message).toMatch(message);
    const [{ n }] = await sql<{ n: number }>(t.databaseUrl, `SELECT count(*)::int AS n FROM users WHERE username <> 'alice' AND username <> 'demo'`);
    expect(n).toBe(0);
  });

  it('logs in with a session cookie (httpOnly, SameSite=Lax) and answers /auth/me', async () => {
    const agent = request.agent(t.url);
    const anon = await agent.get('/auth/me');
    expect(anon.status).toBe(401);
    expect(anon.body).toMatchObject({ statusCode: 401, error: 'UNAUTHORIZED' });

    const login = await agent.post('/auth/login').send({ username: 'alice', password: 'correct horse' });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ username: 'alice', is_staff: false });
    const cookie = sessionCookie(login)!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);

    const me = await agent.get('/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toEqual(login.body);

    const [stored] = await sql<{ sess: { passport: { user: unknown } } }>(t.databaseUrl, `SELECT sess FROM session ORDER BY expire DESC LIMIT 1`);
    expect(stored.sess.passport.user).toBe(login.body.id);
  });

  it('regenerates the session id on login (no session fixation)', async () => {
    const agent = request.agent(t.url);
    const first = await agent.post('/auth/login').send({ username: 'alice', password: 'correct horse' });
    const again = await agent.post('/auth/login').send({ username: 'alice', password: 'correct horse' });
    const id = (c?: string) => c?.split(';')[0];
    expect(id(sessionCookie(first))).toBeTruthy();
    expect(id(sessionCookie(again))).toBeTruthy();
    expect(id(sessionCookie(again))).not.toBe(id(sessionCookie(first)));
  });

  it('answers a wrong password and an unknown user with the same 401', async () => {
    const wrong = await request(t.url).post('/auth/login').send({ username: 'alice', password: 'wrong password' });
    const unknown = await request(t.url).post('/auth/login').send({ username: 'nobody-here', password: 'wrong password' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body).toEqual({ statusCode: 401, error: 'UNAUTHORIZED', message: 'Invalid username or password' });
    expect(sessionCookie(wrong)).toBeUndefined();
  });

  it('answers a malformed login body with 400', async () => {
    const res = await request(t.url)
      .post('/auth/login')
      .send({ username: ['alice'], password: 'correct horse' });
    expect(res.status).toBe(400);
    const junk = await request(t.url).post('/auth/login').set('content-type', 'application/json').send('{"username":');
    expect(junk.status).toBe(400);
    expect(junk.body).toMatchObject({ statusCode: 400, error: 'BAD_REQUEST' });
  });

  it('rate-limits failed logins per IP and username with 429, and the right password then still waits', async () => {
    await request(t.url).post('/auth/register').send({ username: 'carol', password: 'carol-password' }).expect(201);
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await request(t.url).post('/auth/login').send({ username: 'carol', password: 'nope-nope-nope' });
      codes.push(r.status);
    }
    expect(codes).toEqual([401, 401, 401, 401, 429]);
    const blocked = await request(t.url).post('/auth/login').send({ username: 'carol', password: 'carol-password' });
    expect(blocked.status).toBe(429);
    expect(blocked.body).toMatchObject({ statusCode: 429, error: 'TOO_MANY_REQUESTS', details: { retry_after: expect.any(Number) } });
    // Another username from the same IP is not affected.
    const ok = await request(t.url).post('/auth/login').send({ username: 'alice', password: 'correct horse' });
    expect(ok.status).toBe(200);
  });

  it('logs out: destroys the stored session, clears the cookie and publishes session.ended', async () => {
    const bus = t.app.get(MessageBus);
    const ended: BusMessages['session.ended'][] = [];
    const off = bus.subscribe('session.ended', (m) => ended.push(m));
    try {
      const agent = request.agent(t.url);
      const login = await agent.post('/auth/login').send({ username: 'alice', password: 'correct horse' });
      const sid = decodeURIComponent(sessionCookie(login)!.split(';')[0].slice('rm.sid='.length)).slice(2).split('.')[0];
      expect((await sql(t.databaseUrl, `SELECT 1 FROM session WHERE sid = $1`, [sid])).length).toBe(1);

      const out = await agent.post('/auth/logout');
      expect(out.status).toBe(200);
      expect(out.body).toEqual({ logged_out: true });
      expect(sessionCookie(out)).toMatch(/rm\.sid=;/);
      expect((await sql(t.databaseUrl, `SELECT 1 FROM session WHERE sid = $1`, [sid])).length).toBe(0);
      await poll('session.ended on the bus', () => ended.length > 0, 2_000);
      expect(ended).toEqual([{ session_id: sid, user_id: login.body.id }]);

      expect((await agent.get('/auth/me')).status).toBe(401);
      const again = await agent.post('/auth/logout');
      expect(again.body).toEqual({ logged_out: false });
    } finally {
      off();
    }
  });

  it('logs the demo user in with the default demo password', async () => {
    const res = await request(t.url).post('/auth/login').send({ username: 'demo', password: 'demo-password' });
    expect(res.status).toBe(200);
    expect(res.body.username).toBe('demo');
  });
});

describe('auth: sessions live in PostgreSQL', () => {
  it('keeps a session across an app restart on the same database', async () => {
    const first = await startTestApp();
    let second: TestApp | undefined;
    try {
      await request(first.url).post('/auth/register').send({ username: 'dave', password: 'dave-password' }).expect(201);
      const login = await request(first.url).post('/auth/login').send({ username: 'dave', password: 'dave-password' }).expect(200);
      const cookie = sessionCookie(login)!.split(';')[0];
      await first.stop();

      second = await startTestApp({}, { databaseUrl: first.databaseUrl });
      const me = await request(second.url).get('/auth/me').set('cookie', cookie);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ username: 'dave' });
      // A forged cookie is not a session.
      const forged = await request(second.url)
        .get('/auth/me')
        .set(
          'cookie',
          cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
        );
      expect(forged.status).toBe(401);
    } finally {
      await second?.stop();
      await first.close();
    }
  });

  it('drops a session whose user was deleted', async () => {
    const t = await startTestApp();
    try {
      await request(t.url).post('/auth/register').send({ username: 'erin', password: 'erin-password' }).expect(201);
      const agent = request.agent(t.url);
      await agent.post('/auth/login').send({ username: 'erin', password: 'erin-password' }).expect(200);
      await sql(t.databaseUrl, `DELETE FROM users WHERE username = 'erin'`);
      expect((await agent.get('/auth/me')).status).toBe(401);
    } finally {
      await t.close();
    }
  });
});
