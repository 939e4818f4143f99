"""Glue versions and the runtime each one runs: the one place that states the mapping.

Sources: AWS Glue developer guide, "AWS Glue versions" (release notes per version).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class GlueRuntime:
    spark: str
    python: str
    java: str


GLUE_RUNTIMES: dict[str, GlueRuntime] = {
    "5.1": GlueRuntime(spark="3.5.6", python="3.11", java="17"),
    "5.0": GlueRuntime(spark="3.5.4", python="3.11", java="17"),
    "4.0": GlueRuntime(spark="3.3.0", python="3.10", java="8"),
    "3.0": GlueRuntime(spark="3.1.1", python="3.7", java="8"),
    "2.0": GlueRuntime(spark="2.4.3", python="3.7", java="8"),
    "1.0": GlueRuntime(spark="2.4.3", python="3.6", java="8"),
    "0.9": GlueRuntime(spark="2.2.1", python="2.7", java="8"),
}
# "Jobs that are created without specifying a Glue version default to Glue 0.9." (AWS API reference, Job)
DEFAULT_GLUE_VERSION = "0.9"


class RuntimeUnavailable(Exception):
    """This machine cannot run the job as Glue would; the message says what is missing."""


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def installed_pyspark() -> str | None:
    try:
        return metadata.version("pyspark")
    except metadata.PackageNotFoundError:
        return None


def find_java() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = os.path.join(java_home, "bin", "java")
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("java")


def check_spark_runtime(glue_version: str | None) -> GlueRuntime:
    """The runtime of `glue_version`, if this machine has the matching Spark and a Java; else raise."""
    version = glue_version or DEFAULT_GLUE_VERSION
    runtime = GLUE_RUNTIMES.get(version)
    if runtime is None:
        known = ", ".join(sorted(GLUE_RUNTIMES, reverse=True))
        raise RuntimeUnavailable(f"Unknown GlueVersion {version!r} (known: {known})")
    pyspark = installed_pyspark()
    if pyspark is None:
        raise RuntimeUnavailable(
            f"Glue {version} runs Spark {runtime.spark}, but PySpark is not installed on the local endpoint: "
            f"pip install 'pyspark=={major_minor(runtime.spark)}.*'"
        )
    if major_minor(pyspark) != major_minor(runtime.spark):
        unset = " (GlueVersion is not set: AWS defaults it to 0.9)" if glue_version is None else ""
        raise RuntimeUnavailable(
            f"Glue {version}{unset} runs Spark {runtime.spark}, but the local endpoint has PySpark {pyspark}: "
            f"the job would not run as on Glue. Set GlueVersion to one matching Spark {major_minor(pyspark)}"
            f" ({', '.join(v for v, r in GLUE_RUNTIMES.items() if major_minor(r.spark) == major_minor(pyspark))})"
            f" or install pyspark=={major_minor(runtime.spark)}.*"
        )
    if find_java() is None:
        raise RuntimeUnavailable(
            f"Glue {version} runs Spark {runtime.spark} on Java {runtime.java}, but no `java` was found "
            "(neither $JAVA_HOME/bin/java nor on PATH): install a JDK (17 for Glue 5.x)"
        )
    return runtime
