"""The Glue version -> Spark mapping and the checks that refuse a run this machine cannot do as Glue would."""

from __future__ import annotations

import pytest

from reconciler_local.glue import versions
from reconciler_local.glue.versions import GLUE_RUNTIMES, RuntimeUnavailable, check_spark_runtime


def test_mapping_states_the_glue_5_runtimes() -> None:
    assert GLUE_RUNTIMES["5.0"].spark == "3.5.4"
    assert GLUE_RUNTIMES["5.1"].spark == "3.5.6"
    assert GLUE_RUNTIMES["4.0"].spark == "3.3.0"
    assert GLUE_RUNTIMES["5.0"].python == "3.11" and GLUE_RUNTIMES["5.0"].java == "17"


def test_installed_pyspark_runs_glue_5() -> None:
    assert check_spark_runtime("5.0").spark == "3.5.4"
    assert check_spark_runtime("5.1").spark == "3.5.6"


def test_missing_java_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "find_java", lambda: None)
    with pytest.raises(RuntimeUnavailable, match="no `java` was found"):
        check_spark_runtime("5.0")


def test_find_java_without_java_home_or_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert versions.find_java() is None


def test_missing_pyspark_and_unknown_versions_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RuntimeUnavailable, match=r"Unknown GlueVersion '9\.9'"):
        check_spark_runtime("9.9")
    monkeypatch.setattr(versions, "installed_pyspark", lambda: None)
    with pytest.raises(RuntimeUnavailable, match="PySpark is not installed"):
        check_spark_runtime("5.0")
