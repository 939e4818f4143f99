#!/usr/bin/env bash
# Builds both images and tries the Spark one as a Docker user would, under a uid that has no passwd entry in
# the image (what `docker run --user "$(id -u):$(id -g)"` and Kubernetes `runAsUser` give):
#   1. `--version`;  2. `validate`;
#   3. the whole local pipeline on the sample data (`--local run`: apply, crawl, Spark job, manifest), in one
#      container whose exit kills the endpoint it started;
#   4. a second `run` of the quarter in a new container, which must see the first's state (published, lock
#      free), and `history` in a third.
# Then the images' sizes. Exits non-zero on the first failure.
#
#   bash scripts/test-image.sh
#
# ENGINE: docker when its daemon answers, else podman (ENGINE=... to choose). BUILD: how an image is built,
# called as `$BUILD [--spark] TAG` (default: `$ENGINE build`); on a machine without a registry, e.g.
#   BUILD="bash ../shared/container/build.sh" bash scripts/test-image.sh
# AWS_IMAGE, SPARK_IMAGE: the tags (default pipeline-reconciler:test, pipeline-reconciler:test-spark).
# SKIP_BUILD=1 tests images already built under those tags.
set -euo pipefail
cd "$(dirname "$0")/.."

AWS_IMAGE=${AWS_IMAGE:-pipeline-reconciler:test}
SPARK_IMAGE=${SPARK_IMAGE:-pipeline-reconciler:test-spark}
RUN_UID=${RUN_UID:-54321}  # neither the image nor Debian's base has an entry for it
QUARTER=2026-Q3

if [ -z "${ENGINE:-}" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker
  elif command -v podman >/dev/null; then ENGINE=podman
  else echo "test-image: neither a Docker daemon nor podman is available" >&2; exit 1
  fi
fi
# podman adds a passwd entry for --user unless told not to; Docker never does.
no_passwd=(); [ "$ENGINE" = podman ] && no_passwd=(--passwd=false)

step() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }
fail() { echo "test-image: FAILED: $*" >&2; exit 1; }

build() {  # build [--spark] TAG
  if [ -n "${BUILD:-}" ]; then
    # shellcheck disable=SC2086  # BUILD is a command line
    $BUILD "$@"
  elif [ "$1" = --spark ]; then
    "$ENGINE" build --build-arg WITH_SPARK=true --tag "$2" .
  else
    "$ENGINE" build --tag "$1" .
  fi
}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  step "build $AWS_IMAGE"; started=$SECONDS; build "$AWS_IMAGE"; aws_build=$((SECONDS - started))
  step "build $SPARK_IMAGE"; started=$SECONDS; build --spark "$SPARK_IMAGE"; spark_build=$((SECONDS - started))
fi

# A project directory as a user has it: the example pipeline and the sample data, writable by the run's uid.
project=$(mktemp -d "${TMPDIR:-/tmp}/test-image.XXXXXX")
cleanup() {  # the container's uid owns what it wrote: remove it from inside a container, as root
  "$ENGINE" run --rm --user 0:0 -v "$project:/work" --entrypoint sh "$SPARK_IMAGE" -c 'rm -rf /work/..?* /work/.[!.]* /work/*' \
    >/dev/null 2>&1 || true
  rmdir "$project" 2>/dev/null || true
}
trap cleanup EXIT
cp -r pipeline.yaml glue_scripts quicksight "$project/"
mkdir -p "$project/Data/sample" && cp -r Data/sample/car_brands "$project/Data/sample/"
rm -f "$project/quicksight/manifest.json"
chmod -R a+rwX "$project"

in_image() {  # in_image IMAGE ARGS...: reconcile ARGS in a new container, as RUN_UID, in the project
  local image=$1; shift
  "$ENGINE" run --rm "${no_passwd[@]}" --user "$RUN_UID:$RUN_UID" -v "$project:/work" \
    -e DATA_DIR=Data/sample/car_brands -e NO_COLOR=1 "$image" "$@"
}

step "no passwd entry for uid $RUN_UID in $SPARK_IMAGE"
if "$ENGINE" run --rm "${no_passwd[@]}" --user "$RUN_UID:$RUN_UID" --entrypoint sh "$SPARK_IMAGE" \
    -c "grep -q '^[^:]*:[^:]*:$RUN_UID:' /etc/passwd"; then
  fail "the image has a passwd entry for $RUN_UID: pick another RUN_UID"
fi

step "--version"
version=$(in_image "$SPARK_IMAGE" --version) || fail "--version"
echo "$version"
[[ "$version" == *"$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)"* ]] || fail "--version does not print pyproject's version"

step "validate"
in_image "$SPARK_IMAGE" validate || fail "validate"

step "the whole local pipeline: --local run --run-quarter $QUARTER"
first_started=$SECONDS
in_image "$SPARK_IMAGE" --local run --run-quarter "$QUARTER" || fail "the first run"
first_run=$((SECONDS - first_started))
[ -s "$project/quicksight/manifest.json" ] || fail "the run wrote no quicksight/manifest.json"

step "a second run in a new container sees the first's state"
second_started=$SECONDS
second=$(in_image "$SPARK_IMAGE" --local run --run-quarter "$QUARTER" 2>&1) || { echo "$second"; fail "the second run"; }
second_run=$((SECONDS - second_started))
echo "$second"

step "history in a third container"
history=$(in_image "$SPARK_IMAGE" --local history --json) || fail "history"
echo "$history"
python3 -c '
import json, sys
quarter = sys.argv[1]
states = [run.get("state") for run in json.load(sys.stdin)["runs"] if run.get("quarter") == quarter]
print(f"runs of {quarter}: {states}")
assert "running" not in states and "published" in states, states
' "$QUARTER" <<<"$history" || fail "history does not show a published run of $QUARTER (and none running)"

step "sizes"
for image in "$AWS_IMAGE" "$SPARK_IMAGE"; do
  echo "$image: $("$ENGINE" image inspect --format '{{.Size}}' "$image" | numfmt --to=si --suffix=B)"
done
echo "times: ${aws_build:-?}s and ${spark_build:-?}s to build, ${first_run}s for the first run," \
  "${second_run}s for the second, ${SECONDS}s in all"
echo "test-image: OK"
