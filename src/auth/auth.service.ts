import { Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { MessageBus } from '../bus/message-bus';
import { AuthUser, toUserJson, UserJson } from './auth-user';
import { PassportService } from './passport.service';
import { SESSION_COOKIE } from './session.service';
import { UsersService } from './users.service';

/** Register, log in (session regenerated), log out (session destroyed, sockets told). */
@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly users: UsersService,
    private readonly passport: PassportService,
    private readonly bus: MessageBus,
  ) {}

  async register(username: string, password: string): Promise<UserJson> {
    const user = await this.users.create(username, password);
    this.logger.log(`Registered user ${user.id} (${user.username})`);
    return toUserJson(user);
  }

  /** Checks credentials with the passport-local strategy, then starts a fresh session (new id) for the user. */
  async login(req: Request, res: Response): Promise<UserJson> {
    const user = await this.passport.authenticate(req, res);
    // passport >= 0.6 regenerates the session on login (no session fixation).
    await new Promise<void>((resolve, reject) => req.logIn(user, (err) => (err ? reject(err) : resolve())));
    return toUserJson(user);
  }

  /** Destroys the session (store row and cookie), then tells every instance so sockets bound to it lose access. */
  async logout(req: Request, res: Response): Promise<{ logged_out: boolean }> {
    const user = req.user as AuthUser | undefined;
    const sessionId = req.sessionID;
    if (!req.session) return { logged_out: false };
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
    res.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' });
    if (user && sessionId) {
      await this.bus.publish('session.ended', { session_id: sessionId, user_id: user.id });
      return { logged_out: true };
    }
    return { logged_out: false };
  }
}
