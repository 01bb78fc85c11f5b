import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvironmentVariables } from '../../src/config/env.validation';

const root = resolve(__dirname, '../..');

function declaredSettings(): string[] {
  // Every setting is a decorated property of EnvironmentVariables; optional ones have no initialiser,
  // so read the names from the source as well as from an instance.
  const src = readFileSync(join(root, 'src/config/env.validation.ts'), 'utf8');
  const names = new Set(Object.keys(new EnvironmentVariables()));
  for (const m of src.matchAll(/^\s*@[^\n]*\)\s+([A-Z][A-Z0-9_]+)[?!]?:/gm)) names.add(m[1]);
  return [...names].sort();
}

describe('.env.example', () => {
  const example = readFileSync(join(root, '.env.example'), 'utf8');
  const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));

  it('lists every setting the service reads', () => {
    const missing = declaredSettings().filter((n) => !listed.has(n));
    expect(missing).toEqual([]);
  });

  it('lists nothing the service does not read', () => {
    const declared = new Set(declaredSettings());
    expect([...listed].filter((n) => !declared.has(n))).toEqual([]);
  });

  it('README configuration table names every setting', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const missing = declaredSettings().filter((n) => !readme.includes(`\`${n}\``));
    expect(missing).toEqual([]);
  });
});
