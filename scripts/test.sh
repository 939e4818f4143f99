#!/usr/bin/env bash
# The whole test suite from scratch: virtualenv from uv.lock, lint, type-check, tests.
# Usage: bash scripts/test.sh [pytest args...]
#   QUICK=1    skips the slow Spark and fault-matrix tests
#   LATEST=1   the newest release of every dependency instead of uv.lock, in .venv-latest (the drift check)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${LATEST:-0}" = "1" ]; then
  VENV=${VENV:-.venv-latest}
  # moto outside the tested range: serve anyway, so the contract test names what moved (reconciler_local/moto_api.py)
  export RECONCILER_LOCAL_ALLOW_UNTESTED_MOTO=1
fi
# shellcheck source=scripts/lib/install.sh
. scripts/lib/install.sh

if ! command -v java >/dev/null 2>&1; then
  echo "error: java not found. Spark (the local Glue job runtime) needs Java 17: apt-get install openjdk-17-jre-headless" >&2
  exit 1
fi

# nss_wrapper gives local Spark runs an identity under a uid with no passwd entry (containers); its test needs it.
if ! ls /usr/lib/*/libnss_wrapper.so* /usr/lib64/libnss_wrapper.so* /usr/lib/libnss_wrapper.so* \
     /usr/local/lib/libnss_wrapper.so* >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing libnss-wrapper (Debian package)"
    (apt-get install -y -qq libnss-wrapper >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq libnss-wrapper; }) >/dev/null
  else
    echo "error: nss_wrapper not found (tests/local/test_identity.py needs it): sudo apt-get install libnss-wrapper" >&2
    exit 1
  fi
fi

echo "== install (uv.lock)"
install_env dev spark local

# In the drift check (LATEST=1) a lint or type failure does not hide the test results: all three run.
status=0
check() { if [ "${LATEST:-0}" = "1" ]; then "$@" || status=1; else "$@"; fi; }

echo "== ruff"
check "$VENV/bin/ruff" check src tests glue_scripts benchmarks scripts
echo "== mypy"
check "$VENV/bin/mypy"
echo "== pytest"
marks=()
if [ "${QUICK:-0}" = "1" ]; then
  marks=(-m "not spark and not slow")
fi
check "$VENV/bin/pytest" -n "${PYTEST_WORKERS:-2}" --dist loadfile "${marks[@]}" "$@"
exit "$status"
