#!/usr/bin/env bash
# Runs every test suite: unit and integration (vitest, real SSH and databases),
# then the browser tests (Playwright, production build, real server), and ends
# with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
mkdir -p .tmp
rm -f .tmp/vitest-results.json .tmp/e2e-results.json .tmp/static-results.json

status=0
scripts/ensure-system-deps.sh || status=1

# The suite must make what it needs: an OS user `mesh` left by an earlier run (the
# embedded target and the OpenSSH test targets create it) goes first. userdel
# refuses while someone's processes run as mesh (another run on this machine):
# then it stays, and says so.
if [ "$(id -u)" -eq 0 ] && getent passwd mesh >/dev/null 2>&1; then
  if userdel mesh 2>/dev/null; then
    rm -rf /home/mesh # its home, if an earlier run made one (userdel keeps it)
    echo "== removed the OS user mesh left by an earlier run"
  else echo "== the OS user mesh is in use (another run on this machine?): kept" >&2; fi
fi

echo "== lint (ESLint) and format (Prettier)"
lint=true; format=true
npx eslint . || { lint=false; status=1; }
npx prettier --check --log-level warn . || { format=false; status=1; echo "run: npx prettier --write ." >&2; }
echo "{\"checks\":[{\"name\":\"eslint\",\"ok\":$lint},{\"name\":\"prettier\",\"ok\":$format}]}" >.tmp/static-results.json

echo "== unit and integration tests${DATABASE_URL:+ (PGlite and Postgres)}"
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-results.json || status=1

echo "== production build"
# A test build: the browser tests read terminals through a hook other builds leave out.
if NEXT_PUBLIC_MESHIA_TEST_HOOKS=1 npx next build >.tmp/build.log 2>&1; then
  echo "== browser tests"
  E2E_JSON=.tmp/e2e-results.json npx playwright test "$@" || status=1
else
  tail -n 40 .tmp/build.log
  echo "the build failed: browser tests not run" >&2
  status=1
fi

node scripts/test-summary.mjs .tmp/static-results.json .tmp/vitest-results.json .tmp/e2e-results.json || status=1
exit $status
