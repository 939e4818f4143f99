#!/usr/bin/env bash
# The whole test suite from scratch: virtualenv, install, lint, type-check, tests.
# Usage: bash scripts/test.sh [pytest args...]     (QUICK=1 skips the slow Spark and fault-matrix tests)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if ! command -v java >/dev/null 2>&1; then
  echo "error: java not found. Spark (the local Glue job runtime) needs Java 17: apt-get install openjdk-17-jre-headless" >&2
  exit 1
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[dev,spark,local]"

echo "== ruff"
"$VENV/bin/ruff" check src tests glue_scripts benchmarks
echo "== mypy"
"$VENV/bin/mypy"
echo "== pytest"
marks=()
if [ "${QUICK:-0}" = "1" ]; then
  marks=(-m "not spark and not slow")
fi
"$VENV/bin/pytest" -n "${PYTEST_WORKERS:-2}" --dist loadfile "${marks[@]}" "$@"
