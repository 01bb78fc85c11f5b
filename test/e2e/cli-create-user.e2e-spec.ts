import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TestApp } from '../support/app';
import { runCli } from '../support/cli';

/**
 * `create-user`: the same rules as POST /auth/register, the password from the
 * environment (never the command line), and the way to make a staff account.
 */
describe('CLI: create-user', () => {
  let t: TestApp;
  const env = (extra: Record<string, string | undefined> = {}) => ({
    DATABASE_URL: t.databaseUrl,
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    NEW_USER_PASSWORD: undefined,
    ...extra,
  });
  const login = (username: string, password: string) =>
    fetch(`${t.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  const cookieOf = (res: Response) =>
    res.headers
      .getSetCookie()
      .find((c) => c.startsWith('rm.sid='))!
      .split(';')[0]!;
  const createAsset = (cookie: string, symbol: string) =>
    fetch(`${t.url}/api/assets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ symbol, name: `${symbol} Inc`, asset_type: 'STOCK' }),
    });

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a staff user whose session may add assets; a plain user may not', async () => {
    const staff = await runCli(['create-user', 'ops-admin', '--staff'], env({ NEW_USER_PASSWORD: 'correct horse battery' }));
    expect(staff).toMatchObject({ exitCode: 0, stderr: '' });
    expect(staff.stdout).toMatch(/^created user "ops-admin" \(id \d+\) with staff rights$/m);
    const plain = await runCli(['create-user', 'viewer1', '--password-env', 'VIEWER_PW'], env({ VIEWER_PW: 'another long one' }));
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout).toMatch(/^created user "viewer1" \(id \d+\)$/m);

    const asStaff = await login('ops-admin', 'correct horse battery');
    expect(asStaff.status).toBe(200);
    expect(await asStaff.json()).toMatchObject({ username: 'ops-admin', is_staff: true });
    expect((await createAsset(cookieOf(asStaff), 'ZZCLI')).status).toBe(201);

    const asViewer = await login('viewer1', 'another long one');
    expect(await asViewer.json()).toMatchObject({ username: 'viewer1', is_staff: false });
    expect((await createAsset(cookieOf(asViewer), 'ZZCLI2')).status).toBe(403);
  });

  it('--staff on an existing user grants staff rights and leaves the password alone', async () => {
    await runCli(['create-user', 'promote-me'], env({ NEW_USER_PASSWORD: 'first password' }));
    const r = await runCli(['create-user', 'promote-me', '--staff'], env());
    expect(r).toMatchObject({ exitCode: 0 });
    expect(r.stdout).toMatch(/user "promote-me" \(id \d+\) is now staff/);
    const res = await login('promote-me', 'first password');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ is_staff: true });
  });

  it('refuses a short password, a bad username, a taken name, a missing password and an unknown user to promote, with a message and exit code 1', async () => {
    const cases: [string[], Record<string, string | undefined>, RegExp][] = [
      [['create-user', 'shorty'], { NEW_USER_PASSWORD: 'short' }, /password must be at least 8 characters long/],
      [['create-user', 'bad name!'], { NEW_USER_PASSWORD: 'long enough pw' }, /username may contain only/],
      [['create-user', 'ops-admin'], { NEW_USER_PASSWORD: 'long enough pw' }, /already taken/],
      [['create-user', 'nopassword'], {}, /give the password in \$NEW_USER_PASSWORD or on stdin/],
      [['create-user', 'ghost', '--staff'], {}, /no user "ghost"/],
    ];
    for (const [args, extra, message] of cases) {
      const r = await runCli(args, env(extra));
      expect({ args, exitCode: r.exitCode }).toEqual({ args, exitCode: 1 });
      expect(r.stderr).toMatch(message);
    }
    expect((await login('shorty', 'short')).status).toBe(401);
  });
});
