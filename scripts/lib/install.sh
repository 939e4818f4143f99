# Sourced by the scripts in scripts/: installs the project's virtualenv from uv.lock, nothing else.
#
#   install_env EXTRA...      e.g. install_env dev spark local
#
# Every install path (these scripts, .ci/run, the Dockerfile, the GitHub workflows) installs exactly the
# versions and hashes in uv.lock. uv itself comes from scripts/uv-requirements.txt (one version, hashed),
# into .tools/ beside the project, the first time; only Python >= 3.11 is needed on the machine.
# `--locked`: a pyproject.toml edited without `uv lock` stops the install with uv's own message.
# LATEST=1 resolves the newest releases of every dependency instead of the lock (the drift check).
# VENV (default .venv) and PYTHON (default python3) choose where and with which interpreter.

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
UV_TOOLS=${UV_TOOLS:-.tools/uv}
# uv never downloads a Python of its own here: the machine's interpreter is the one to use.
export UV_PYTHON_DOWNLOADS=never

uv_command() {
  local pinned
  pinned=$(sed -n 's/^uv==\([0-9.]*\).*/\1/p' scripts/uv-requirements.txt)
  if [ ! -x "$UV_TOOLS/bin/uv" ] || [ "$("$UV_TOOLS/bin/uv" --version | cut -d' ' -f2)" != "$pinned" ]; then
    echo "== installing uv $pinned (once, into $UV_TOOLS)" >&2
    rm -rf "$UV_TOOLS"
    "$PYTHON" -m venv "$UV_TOOLS" >&2
    "$UV_TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
      -r scripts/uv-requirements.txt >&2
  fi
  echo "$UV_TOOLS/bin/uv"
}

install_env() {
  local uv extras=()
  uv=$(uv_command)
  for extra in "$@"; do extras+=(--extra "$extra"); done
  if [ "${LATEST:-0}" = "1" ]; then
    # The newest release of every dependency, ignoring uv.lock and the upper bounds we wrote: what a user
    # who installs without the lock gets today. Never committed: the lock stays as it is.
    echo "== LATEST=1: newest releases of every dependency, not uv.lock" >&2
    [ -x "$VENV/bin/python" ] || "$uv" venv --quiet --python "$PYTHON" "$VENV"
    VIRTUAL_ENV="$VENV" "$uv" pip install --quiet --upgrade --reinstall --resolution highest \
      --override <(printf 'moto[events,glue,iam,logs,quicksight,s3,sns,sts]\npyspark<3.6\n') -e ".[$(IFS=,; echo "$*")]"
    VIRTUAL_ENV="$VENV" "$uv" pip freeze > "$VENV/latest-freeze.txt"
    return
  fi
  # --inexact: installs what these extras need and removes nothing, so run-local.sh (local, spark) does not
  # uninstall the test tools test.sh put into the same .venv (dev), nor test.sh the bench extra.
  UV_PROJECT_ENVIRONMENT="$VENV" "$uv" sync --quiet --locked --inexact --python "$PYTHON" "${extras[@]}"
}
