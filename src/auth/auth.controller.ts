import { Body, Controller, Get, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiCookieAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiErrors, SESSION_SECURITY } from '../common/openapi';
import { AuthUser, toUserJson, UserJson } from './auth-user';
import { AuthService } from './auth.service';
import { CurrentUser } from './current-user.decorator';
import { LoginDto, RegisterDto } from './dto/credentials.dto';
import { LogoutDto, UserDto } from './dto/auth.responses.dto';
import { AuthenticatedGuard } from './guards/authenticated.guard';
import { SESSION_COOKIE } from './session.service';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an account', description: 'Registering does not log in: call POST /auth/login next.' })
  @ApiCreatedResponse({ type: UserDto, description: 'The new user' })
  @ApiErrors(400, [409, 'Username taken'])
  register(@Body() dto: RegisterDto): Promise<UserJson> {
    return this.auth.register(dto.username, dto.password);
  }

  /** The body is validated (LoginDto) before passport-local reads it. */
  @Post('login')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Log in (starts a new session)',
    description: `Sets the session cookie \`${SESSION_COOKIE}\` (httpOnly, SameSite=Lax), which authenticates REST calls and WebSocket / Socket.IO handshakes. Failed logins are limited per IP+username and per IP (429).`,
  })
  @ApiOkResponse({
    type: UserDto,
    description: 'Logged in',
    headers: { 'Set-Cookie': { description: `\`${SESSION_COOKIE}=...; Path=/; HttpOnly; SameSite=Lax\``, schema: { type: 'string' } } },
  })
  @ApiErrors(400, 401, 429)
  login(@Body() _dto: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<UserJson> {
    return this.auth.login(req, res);
  }

  @Post('logout')
  @HttpCode(200)
  @ApiOperation({ summary: 'Log out', description: 'Destroys the session, clears the cookie and ends portfolio access of sockets opened with it.' })
  @ApiCookieAuth(SESSION_SECURITY)
  @ApiOkResponse({ type: LogoutDto })
  logout(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<{ logged_out: boolean }> {
    return this.auth.logout(req, res);
  }

  @Get('me')
  @UseGuards(AuthenticatedGuard)
  @ApiOperation({ summary: 'The logged-in user' })
  @ApiCookieAuth(SESSION_SECURITY)
  @ApiOkResponse({ type: UserDto })
  @ApiErrors(401)
  me(@CurrentUser() user: AuthUser): UserJson {
    return toUserJson(user);
  }
}
