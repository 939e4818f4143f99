#!/usr/bin/env bash
# Opt-in lane against a REAL AWS account (never part of .ci/run): the lifecycle and one quarterly run on
# the 2,000-row sample (tests/lane), under a random name suffix, with cost bounds (2 G.1X workers, a
# 10-minute job timeout, a 15-minute run timeout). Whatever happens, even Ctrl-C, a trap destroys what
# the lane created. Credentials come from the standard chain (env, profile, SSO, OIDC in CI).
#
# Usage: AWS_REGION=eu-central-1 bash scripts/test-aws.sh
# Cost of one run: about USD 0.10 to 0.20 (docs/reliability.md, "The real-account lane").
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib/install.sh
. scripts/lib/install.sh
install_env dev spark local

export AWS_REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-eu-central-1}}
export AWS_DEFAULT_REGION=$AWS_REGION  # botocore reads this one; the spec reads AWS_REGION
if ! "$VENV/bin/python" - <<'PY'
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError

try:
    print("lane: caller", boto3.client("sts").get_caller_identity()["Arn"])
except (BotoCoreError, ClientError) as error:
    sys.exit(f"error: cannot reach AWS with the standard credential chain: {error}")
PY
then
  echo "hint: configure credentials (aws configure / aws sso login / export AWS_PROFILE=...), then run this again" >&2
  exit 2
fi

export RECONCILER_LANE=aws
export LANE_SUFFIX=${LANE_SUFFIX:-$(LC_ALL=C tr -dc 'a-z0-9' </dev/urandom | head -c 6)}
export LANE_DIR=${LANE_DIR:-$(mktemp -d)/lane}
export PIPELINE_BUCKET="reconciler-lane-$LANE_SUFFIX"
echo "lane: suffix $LANE_SUFFIX, region $AWS_REGION, bucket $PIPELINE_BUCKET, project $LANE_DIR"

cleanup() {
  status=$?
  trap - EXIT INT TERM
  if [ -f "$LANE_DIR/pipeline.yaml" ]; then
    echo "lane: destroying everything under suffix $LANE_SUFFIX"
    "$VENV/bin/reconcile" -f "$LANE_DIR/pipeline.yaml" destroy --auto-approve --force \
      || echo "lane: destroy failed; run it again: $VENV/bin/reconcile -f $LANE_DIR/pipeline.yaml destroy --auto-approve --force" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$VENV/bin/pytest" -p no:xdist tests/lane -v "$@"
