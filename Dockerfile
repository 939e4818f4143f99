# pipeline-reconciler images. See docs/docker.md.
#
#   docker build -t pipeline-reconciler .                                 # AWS only (default target "aws")
#   docker build -t pipeline-reconciler:spark --target spark .            # + Java 17 and PySpark, for --local runs
#
# Both images: entrypoint `reconcile`, non-root user, no AWS credentials inside (pass them at `docker run`).
# At build time they reach only the package registries: PyPI (pip) and, for the spark target, Debian (apt).
# No BuildKit-only syntax, so the classic builder works too.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# bookworm, not the newer default: Debian 13 (trixie) no longer ships openjdk-17, which Glue 5.x's Spark needs.

# --- base: the Python runtime and the unprivileged user both final images share ---------------------------
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 reconciler \
 && useradd --system --uid 10001 --gid reconciler --home-dir /home/reconciler --create-home \
        --shell /usr/sbin/nologin reconciler

# --- build: install the project into a virtualenv that the final stages copy --------------------------------
FROM base AS build
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
# Only what the wheel is built from (pyproject.toml: README.md is the long description; schema/ is packaged
# as reconciler/_schema). Nothing else from the build context reaches the image.
COPY pyproject.toml README.md ./
COPY schema/ schema/
COPY src/ src/
RUN pip install .

FROM build AS build-spark
# The `spark` extra pins PySpark to the Spark line of Glue 5.x; installing the project again keeps that pin
# in one place (pyproject.toml).
RUN pip install ".[spark]"

# --- spark: the AWS image plus Java 17 and PySpark, for the local endpoint's Glue job runs ---------------------
FROM base AS spark
# procps: Spark's launch scripts call `ps`. The man directory: some JRE packages' post-install scripts
# expect it and slim images delete it.
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build-spark /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/reconciler
# World-writable home (sticky, like /tmp) so `docker run --user "$(id -u):$(id -g)"`, used to write into a
# mounted project directory as its owner, still has a home for Spark's and boto3's files.
RUN chmod 1777 /home/reconciler
WORKDIR /work
USER reconciler
ENTRYPOINT ["reconcile"]
CMD ["--help"]

# --- aws (default, last so a plain `docker build .` gives it): reconcile against real AWS -------------------
FROM base AS aws
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/reconciler
RUN chmod 1777 /home/reconciler
WORKDIR /work
USER reconciler
ENTRYPOINT ["reconcile"]
CMD ["--help"]
