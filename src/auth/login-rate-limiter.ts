import { HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppConfig } from '../config/app-config';

/**
 * Failed-login budget (rate-limiter-flexible): LOGIN_MAX_FAILURES per
 * IP+username and 10x that per IP, within LOGIN_FAILURE_WINDOW seconds.
 * Only failures count; a successful login clears the IP+username budget.
 * In memory: each API instance keeps its own counts.
 */
@Injectable()
export class LoginRateLimiter {
  private readonly byUserIp: RateLimiterMemory;
  private readonly byIp: RateLimiterMemory;

  constructor(config: AppConfig) {
    this.byUserIp = new RateLimiterMemory({ keyPrefix: 'login_user_ip', points: config.LOGIN_MAX_FAILURES, duration: config.LOGIN_FAILURE_WINDOW });
    this.byIp = new RateLimiterMemory({ keyPrefix: 'login_ip', points: config.LOGIN_MAX_FAILURES * 10, duration: config.LOGIN_FAILURE_WINDOW });
  }

  /** Throws 429 if this IP (or IP+username) has used up its failures. */
  async check(ip: string, username: string): Promise<void> {
    const [a, b] = await Promise.all([this.byUserIp.get(key(ip, username)), this.byIp.get(ip)]);
    const blocked = [
      [a, this.byUserIp.points],
      [b, this.byIp.points],
    ].find(([r, max]) => r && (r as RateLimiterRes).consumedPoints >= (max as number)) as [RateLimiterRes, number] | undefined;
    if (blocked) {
      const retry = Math.max(1, Math.ceil(blocked[0].msBeforeNext / 1000));
      throw new HttpException(
        { message: `Too many failed login attempts; try again in ${retry} s`, details: { retry_after: retry } },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
  }

  async failed(ip: string, username: string): Promise<void> {
    await Promise.all([this.byUserIp.penalty(key(ip, username), 1), this.byIp.penalty(ip, 1)]);
  }

  async succeeded(ip: string, username: string): Promise<void> {
    await this.byUserIp.delete(key(ip, username));
  }
}

const key = (ip: string, username: string) => `${ip}|${username.toLowerCase()}`;
