// Adds up Vitest JSON reports and prints the one closing line "N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.log(`missing report: ${file} (counted as one failure)`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numTotalTestSuites > 0 && r.success === false && (r.numFailedTests ?? 0) === 0 ? 1 : 0);
  const pending = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  if (pending) {
    console.log(`${file}: ${pending} skipped or todo tests are not allowed`);
    failed += pending;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
