import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { Command, CommandRunner, Option } from 'nest-commander';
import { RegisterDto } from '../auth/dto/credentials.dto';
import { UsersService } from '../auth/users.service';

export interface CreateUserOptions {
  staff?: boolean;
  passwordEnv?: string;
  passwordStdin?: boolean;
}

/** Where the password comes from: never the command line (it would show in `ps` and shell history). */
const DEFAULT_PASSWORD_ENV = 'NEW_USER_PASSWORD';

/**
 * `create-user <username> [--staff]`: creates an account with the same rules as
 * POST /auth/register, the password read from an environment variable or stdin.
 * For an existing user, `--staff` grants staff rights (the only way besides SQL).
 */
@Command({
  name: 'create-user',
  arguments: '<username>',
  description: `Create a user (password from $${DEFAULT_PASSWORD_ENV} or --password-stdin); --staff makes it staff, also for an existing user`,
})
export class CreateUserCommand extends CommandRunner {
  constructor(private readonly users: UsersService) {
    super();
  }

  async run([username]: string[], options: CreateUserOptions = {}): Promise<void> {
    const staff = options.staff === true;
    const envName = options.passwordEnv ?? DEFAULT_PASSWORD_ENV;
    const password = options.passwordStdin ? await readStdin() : process.env[envName];
    if (password === undefined || password === '') {
      if (staff) {
        const promoted = await this.users.setStaff(username, true);
        if (promoted) {
          process.stdout.write(`user "${promoted.username}" (id ${promoted.id}) is now staff\n`);
          return;
        }
        throw new Error(`no user "${username}"; to create one, give a password in $${envName} or on stdin with --password-stdin`);
      }
      throw new Error(`give the password in $${envName} or on stdin with --password-stdin`);
    }
    const errors = await validate(plainToInstance(RegisterDto, { username, password }));
    if (errors.length > 0) throw new Error(errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; '));
    const user = await this.users.create(username, password, staff).catch(async (err: unknown) => {
      // Taken: with --staff, make the existing account staff (its password is left alone).
      if (staff && (err as { status?: number }).status === 409) return null;
      throw err;
    });
    if (user) {
      process.stdout.write(`created user "${user.username}" (id ${user.id})${user.isStaff ? ' with staff rights' : ''}\n`);
      return;
    }
    const promoted = await this.users.setStaff(username, true);
    process.stdout.write(`user "${promoted!.username}" (id ${promoted!.id}) already existed, password unchanged; it is now staff\n`);
  }

  @Option({ flags: '--staff', description: 'Staff rights (POST /api/assets, ...); for an existing user, grants them' })
  parseStaff(): boolean {
    return true;
  }

  @Option({ flags: '--password-env <name>', description: `Environment variable holding the password (default ${DEFAULT_PASSWORD_ENV})` })
  parsePasswordEnv(value: string): string {
    return value;
  }

  @Option({ flags: '--password-stdin', description: 'Read the password from stdin (first line)' })
  parsePasswordStdin(): boolean {
    return true;
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new Error('--password-stdin: pipe the password in, e.g. `printf %s "$PW" | … create-user alice --password-stdin`');
  let text = '';
  for await (const chunk of process.stdin) {
    text += chunk.toString();
    if (text.length > 4096) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}
