// Adds up Vitest JSON reports and prints the one closing line "N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
const failures = [];
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.log(`missing report: ${file} (counted as one failure)`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numTotalTestSuites > 0 && r.success === false && (r.numFailedTests ?? 0) === 0 ? 1 : 0);
  if (file.endsWith('run-checks.json') && (r.numFailedTests ?? 0) > 0) failures.push(`${file}: a static check failed (see "check failed:" above)`);
  for (const suite of r.testResults ?? []) {
    const failedTests = (suite.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of failedTests) failures.push(`${suite.name}: ${t.fullName ?? t.title}\n    ${String(t.failureMessages?.[0] ?? '').split('\n')[0]}`);
    if (suite.status === 'failed' && failedTests.length === 0) failures.push(`${suite.name}: ${String(suite.message ?? 'suite failed').split('\n')[0]}`);
  }
  const pending = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  if (pending) {
    console.log(`${file}: ${pending} skipped or todo tests are not allowed`);
    failed += pending;
  }
}
if (failures.length) console.log(`failed:\n  ${failures.join('\n  ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
