#!/usr/bin/env bash
# Runs every test suite: unit and integration (vitest, real SSH and databases),
# then the browser tests (Playwright, production build, real server), and ends
# with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
mkdir -p .tmp
rm -f .tmp/vitest-results.json .tmp/e2e-results.json

status=0
scripts/ensure-system-deps.sh || status=1

echo "== unit and integration tests${DATABASE_URL:+ (PGlite and Postgres)}"
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-results.json || status=1

echo "== production build"
if npx next build >.tmp/build.log 2>&1; then
  echo "== browser tests"
  E2E_JSON=.tmp/e2e-results.json npx playwright test "$@" || status=1
else
  tail -n 40 .tmp/build.log
  echo "the build failed: browser tests not run" >&2
  status=1
fi

node scripts/test-summary.mjs .tmp/vitest-results.json .tmp/e2e-results.json || status=1
exit $status
