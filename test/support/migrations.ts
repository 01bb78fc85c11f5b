import type { DataSource } from 'typeorm';

/**
 * Reverts applied migrations, newest first, down to and including `name` (the migrations applied
 * after it are reverted first): "back to just before `name`", however many migrations came later.
 */
export async function undoMigrationsThrough(ds: DataSource, name: string): Promise<void> {
  const applied = ((await ds.query(`SELECT name FROM migrations ORDER BY id`)) as { name: string }[]).map((r) => r.name);
  const at = applied.indexOf(name);
  if (at < 0) throw new Error(`Migration ${name} is not applied (applied: ${applied.join(', ')})`);
  for (let i = applied.length - 1; i >= at; i--) await ds.undoLastMigration();
}
