# pipeline-reconciler image. See docs/docker.md.
#
#   docker build -t pipeline-reconciler .                                          # AWS only (small)
#   docker build -t pipeline-reconciler:spark --build-arg WITH_SPARK=true .        # + Java 17 and PySpark
#
# Entrypoint `reconcile`, non-root user (uid 10001), no AWS credentials inside: pass them at `docker run`.
# At build time it reaches only the package registries: PyPI (pip) and, with WITH_SPARK=true, Debian (apt).
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
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
# Only what the wheel is built from (pyproject.toml names README.md as the long description and packages
# schema/ as reconciler/_schema). Nothing else from the build context reaches the image.
COPY pyproject.toml README.md ./
COPY schema/ schema/
COPY src/ src/
# The `spark` extra pins PySpark to the Spark line of Glue 5.x, so the pin lives in pyproject.toml only.
# hadolint ignore=DL3013
RUN case "$WITH_SPARK" in \
      true) pip install ".[spark,local]" ;; \
      false) pip install . ;; \
      *) echo "WITH_SPARK must be true or false (got '$WITH_SPARK')" >&2; exit 1 ;; \
    esac

# --- the image -----------------------------------------------------------------------------------------------
FROM base
ARG WITH_SPARK=false
# With Spark: Java 17 for the local endpoint's Glue 5.x job runs, and procps because Spark's launch scripts
# call `ps`. The man directory: some JRE packages' post-install scripts expect it and slim images delete it.
# Debian package versions are not pinned: bookworm's security updates replace them, and a pinned version
# disappears from the archive.
# hadolint ignore=DL3008
RUN if [ "$WITH_SPARK" = true ]; then \
      mkdir -p /usr/share/man/man1 \
      && apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
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
