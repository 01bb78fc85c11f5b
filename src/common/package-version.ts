import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

let cached: string | undefined;

/** package.json's version (read once; the same depth from src/common and dist/common). */
export function packageVersion(): string {
  if (cached === undefined) {
    try {
      cached = (JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
    } catch {
      cached = '0.0.0';
    }
  }
  return cached;
}
