import { Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request, RequestHandler } from 'express';
import { Passport } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { AuthUser } from './auth-user';
import { LoginRateLimiter } from './login-rate-limiter';
import { UsersService } from './users.service';

const INVALID_CREDENTIALS = 'Invalid username or password';

/**
 * This application's own passport instance (not the process-wide singleton,
 * so several app instances in one process — tests — never share strategies
 * or serializers). Strategy `local` (passport-local) checks credentials under
 * the login rate limit; the session stores the NUMERIC user id
 * (req.session.passport.user), which SessionService.identify reads for sockets.
 */
@Injectable()
export class PassportService {
  readonly passport = new Passport();

  constructor(
    private readonly users: UsersService,
    private readonly limiter: LoginRateLimiter,
  ) {
    this.passport.use(
      'local',
      new LocalStrategy({ usernameField: 'username', passwordField: 'password', passReqToCallback: true, session: true }, (req, username, password, done) => {
        this.verify(req, username, password).then(
          (user) => done(null, user),
          (err: unknown) => done(err),
        );
      }),
    );
    this.passport.serializeUser<number>((user, done) => done(null, (user as AuthUser).id));
    this.passport.deserializeUser<number>((id, done) => {
      if (typeof id !== 'number') return done(null, false);
      this.users.findById(id).then(
        (u) => done(null, u ?? false),
        (err: unknown) => done(err),
      );
    });
  }

  initialize(): RequestHandler {
    return this.passport.initialize() as RequestHandler;
  }

  session(): RequestHandler {
    return this.passport.session() as RequestHandler;
  }

  /** Runs the `local` strategy for this request; resolves to the user or throws 401/429. */
  authenticate(req: Request, res: unknown): Promise<AuthUser> {
    return new Promise((resolve, reject) => {
      const handler = this.passport.authenticate('local', { session: false }, (err: unknown, user: AuthUser | false) => {
        if (err) return reject(err);
        if (!user) return reject(new UnauthorizedException(INVALID_CREDENTIALS));
        resolve(user);
      }) as RequestHandler;
      handler(req, res as never, (err?: unknown) => (err ? reject(err) : reject(new UnauthorizedException(INVALID_CREDENTIALS))));
    });
  }

  private async verify(req: Request, username: string, password: string): Promise<AuthUser | false> {
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    await this.limiter.check(ip, username);
    const user = await this.users.verifyCredentials(username, password);
    if (!user) {
      await this.limiter.failed(ip, username);
      return false;
    }
    await this.limiter.succeeded(ip, username);
    return user;
  }
}
