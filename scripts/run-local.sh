#!/usr/bin/env bash
# The main job on the embedded local AWS endpoint, from scratch, with no AWS account:
# virtualenv, install, generate the 1M-row data set if missing, start the endpoint, `reconcile run`.
# Usage: bash scripts/run-local.sh [extra `reconcile run` options, e.g. --json]
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib/install.sh
. scripts/lib/install.sh

if ! command -v java >/dev/null 2>&1; then
  echo "error: java not found. The local Glue job runs on Spark, which needs Java 17:" >&2
  echo "       apt-get install openjdk-17-jre-headless   (or brew install openjdk@17)" >&2
  exit 1
fi

# Each step's wall time (whole seconds; `reconcile run` prints its own steps' times).
step_start=$SECONDS
took() { echo "   ($1: $((SECONDS - step_start)) s)"; step_start=$SECONDS; }

echo "== install (uv.lock)"
install_env local spark
took install

if [ ! -d Data/car_brands/ingest_quarter=2026-Q3 ]; then
  echo "== generating the raw data set (1,000,000 rows, deterministic)"
  "$VENV/bin/python" -m reconciler_local.datagen --out Data/car_brands --rows 1000000 --quarter 2026-Q3
  took "data generation"
fi

# Whatever happens from here (a failed run too), say how to reach `reconcile` and how to stop the endpoint.
next_steps() {
  status=$?
  echo
  echo "== next (README.md, \"After the main command\")"
  echo "reconcile is in the project's virtualenv, not on PATH:"
  echo "  $VENV/bin/reconcile --local history        or:  source $VENV/bin/activate; reconcile --local history"
  echo "The local endpoint keeps running, with its state in .reconciler/. Stop it with:"
  echo "  $VENV/bin/reconcile local down"
  exit "$status"
}

echo "== starting the local AWS endpoint"
trap next_steps EXIT
"$VENV/bin/reconcile" local up
took "endpoint start"

echo "== reconcile run"
"$VENV/bin/reconcile" --local run --run-quarter 2026-Q3 "$@"

url=$("$VENV/bin/python" -c 'import json; print(json.load(open(".reconciler/local-endpoint.json"))["url"])' 2>/dev/null || true)
echo
echo "== outputs in the local endpoint's S3 (${url})"
AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "$VENV/bin/python" - "$url" <<'PY'
import sys
import boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="eu-central-1")
bucket = "car-brands-pipeline-local"
sizes: dict[str, list[int]] = {}
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="prepared/"):
    for obj in page.get("Contents", []):
        parts = obj["Key"].split("/")
        depth = 4 if parts[1:2] == ["runs"] else 2  # prepared/runs/<run id>/<output>/ or prepared/<file>
        folder = "/".join(parts[: min(depth, len(parts) - 1)]) + "/"
        sizes.setdefault(folder, []).append(obj["Size"])
for prefix, items in sorted(sizes.items()):
    print(f"  s3://{bucket}/{prefix}  {len(items)} object(s), {sum(items):,} bytes")
PY
echo
echo "List them yourself:  AWS_ENDPOINT_URL=${url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \\"
echo "                     $VENV/bin/python -c \"import boto3; [print(o['Key']) for o in boto3.client('s3', region_name='eu-central-1').list_objects_v2(Bucket='car-brands-pipeline-local', Prefix='prepared/')['Contents']]\""
