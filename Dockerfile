# pipeline-reconciler image. See docs/docker.md.
#
#   docker build -t pipeline-reconciler .                                          # AWS only (small)
#   docker build -t pipeline-reconciler:spark --build-arg WITH_SPARK=true .        # + Java 17 and PySpark
#
# Entrypoint `reconcile`, non-root user (uid 10001; any other uid works too), no AWS credentials inside: pass
# them at `docker run`.
# It installs exactly uv.lock (versions and hashes), with uv, itself pinned by hash in scripts/uv-requirements.txt.
# At build time it reaches only the package registries: PyPI (pip, uv) and, with WITH_SPARK=true, Debian (apt).
# One build argument rather than two targets, and no BuildKit-only syntax: the classic builder (which builds
# every stage before the target) and BuildKit then do the same work, and the default stays the small image.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# bookworm, not the newer default: Debian 13 (trixie) no longer ships openjdk-17, which Glue 5.x's Spark needs.

# --- base: the Python runtime and the unprivileged user ------------------------------------------------------
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 reconciler \
 && useradd --system --uid 10001 --gid reconciler --home-dir /home/reconciler --create-home \
        --shell /usr/sbin/nologin reconciler

# --- build: install the project into a virtualenv that the final stage copies --------------------------------
FROM base AS build
ARG WITH_SPARK=false
# uv never downloads a Python: the base image's is the one the final stage runs. No cache, copied files: the
# virtualenv is complete on its own. Byte-compiled once here, since the image never writes .pyc files.
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_NO_CACHE=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1
WORKDIR /build
COPY scripts/uv-requirements.txt scripts/
RUN python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --require-hashes -r scripts/uv-requirements.txt
# The dependencies first (a layer that changes only with the lock), then the project itself, built as a wheel
# from only what it is built from (pyproject.toml names README.md as the long description and packages schema/
# as reconciler/_schema). Nothing else from the build context reaches the image. `--locked`: a pyproject.toml
# edited without `uv lock` stops the build. A build behind a TLS-inspecting proxy gives pip its CA (pip.conf
# `cert`); uv is told to use the same one.
COPY pyproject.toml uv.lock README.md ./
RUN case "$WITH_SPARK" in \
      true) set -- --extra spark --extra local ;; \
      false) set -- ;; \
      *) echo "WITH_SPARK must be true or false (got '$WITH_SPARK')" >&2; exit 1 ;; \
    esac \
 && cert=$(/opt/uv/bin/pip config list 2>/dev/null | sed -n "s/^global\.cert='\(.*\)'\$/\1/p" | tail -1) \
 && if [ -n "$cert" ]; then export SSL_CERT_FILE="$cert"; fi \
 && /opt/uv/bin/uv sync --locked --no-install-project --no-editable --python "$(command -v python3)" "$@"
COPY schema/ schema/
COPY src/ src/
RUN case "$WITH_SPARK" in true) set -- --extra spark --extra local ;; *) set -- ;; esac \
 && cert=$(/opt/uv/bin/pip config list 2>/dev/null | sed -n "s/^global\.cert='\(.*\)'\$/\1/p" | tail -1) \
 && if [ -n "$cert" ]; then export SSL_CERT_FILE="$cert"; fi \
 && /opt/uv/bin/uv sync --locked --no-editable --python "$(command -v python3)" "$@"

# --- the image -----------------------------------------------------------------------------------------------
FROM base
ARG WITH_SPARK=false
# With Spark: Java 17 for the local endpoint's Glue 5.x job runs, procps because Spark's launch scripts call
# `ps`, and nss_wrapper, which gives a job run under a uid without a passwd entry one (Hadoop's login needs it;
# reconciler_local/glue/identity.py). The man directory: some JRE packages' post-install scripts expect it and
# slim images delete it.
# Debian package versions are not pinned: bookworm's security updates replace them, and a pinned version
# disappears from the archive.
# hadolint ignore=DL3008
RUN if [ "$WITH_SPARK" = true ]; then \
      mkdir -p /usr/share/man/man1 \
      && apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless procps libnss-wrapper \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/reconciler
# World-writable home (sticky, like /tmp) so `docker run --user "$(id -u):$(id -g)"`, used to write into a
# mounted project directory as its owner, still has a home for Spark's and boto3's files.
RUN chmod 1777 /home/reconciler
LABEL org.opencontainers.image.title="pipeline-reconciler" \
      org.opencontainers.image.description="Keeps an AWS Glue batch pipeline as pipeline.yaml declares it, and runs it every quarter" \
      io.pipeline-reconciler.with-spark="${WITH_SPARK}"
WORKDIR /work
USER 10001:10001
ENTRYPOINT ["reconcile"]
CMD ["--help"]
