// Prints the one line CI reads, counting every suite: "N passed, N failed".
// A suite whose report is missing counts as one failure (it did not run).
import { readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    console.error(`no report at ${file}: counted as a failure`);
    failed += 1;
    continue;
  }
  if (Array.isArray(report.testResults)) {
    // vitest (jest-compatible JSON)
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    // A file that failed before any of its tests ran (import error, failing hook) counts once.
    failed += report.testResults.filter((s) => s.status === "failed" && !s.assertionResults?.some((a) => a.status === "failed")).length;
  } else if (Array.isArray(report.checks)) {
    // scripts/test.sh's static checks (lint, format): one each
    for (const c of report.checks) {
      if (c.ok) passed++;
      else failed++;
    }
  } else if (report.stats) {
    // Playwright
    passed += report.stats.expected ?? 0;
    failed += (report.stats.unexpected ?? 0) + (report.stats.flaky ?? 0);
    failed += (report.errors ?? []).length;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
