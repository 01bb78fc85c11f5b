import { CommandFactory, CommandRunnerService } from 'nest-commander';
import { CliModule } from '../../src/cli/cli.module';

/**
 * Runs one CLI command in-process exactly as src/cli.main.ts does (same module,
 * same command runner), capturing what it prints. `env` overrides process.env
 * for the run (undefined deletes a variable).
 */
export async function runCli(args: string[], env: Record<string, string | undefined>): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let stdout = '';
  let stderr = '';
  let exitCode = 0;
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    const app = await CommandFactory.createWithoutRunning(CliModule, {
      logger: ['error'],
      serviceErrorHandler: (err: Error) => {
        stderr += `error: ${err.message}\n`;
        exitCode = 1;
      },
    });
    try {
      await app.get(CommandRunnerService).run(['node', 'cli.main.js', ...args]);
    } finally {
      await app.close();
    }
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { stdout, stderr, exitCode };
}
