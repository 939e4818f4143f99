"""`reconcile local up`, the auto-start of `--local` and `python -m reconciler_local serve` refuse a moto outside
`moto_support.SUPPORTED` before serving anything, and serve anyway (with a warning) when told to.

The "installed" moto is faked honestly: a directory on PYTHONPATH holds nothing but a `moto-5.2.7.dist-info`
(the metadata pip and uv write for an installed distribution). It comes before site-packages, so
`importlib.metadata.version("moto")` in the subprocess reports 5.2.7, exactly as after `pip install moto==5.2.7`;
moto's code (5.2.6) is untouched and never imported when the check refuses.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.errors import EXIT_ERROR
from reconciler_local import down
from reconciler_local.moto_support import ALLOW_VARIABLE, REQUIREMENT, SUPPORTED, install_command
from tests.helpers import make_spec_project

UNTESTED = "5.2.7"


@pytest.fixture
def untested_moto_env(tmp_path: Path) -> dict[str, str]:
    shim = tmp_path / "shim"
    info = shim / f"moto-{UNTESTED}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: moto\nVersion: {UNTESTED}\n", encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if key != ALLOW_VARIABLE}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), os.environ.get("PYTHONPATH")]))
    return environment


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def assert_refused(result: subprocess.CompletedProcess[str], prefix: str) -> None:
    assert result.returncode == EXIT_ERROR, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(prefix), result.stderr
    assert f"moto {UNTESTED} is installed" in first
    assert f"supports only moto{SUPPORTED}" in first
    assert f"install it with: {install_command()}" in first  # into the Python that runs the endpoint
    assert f"'{REQUIREMENT}'" in first
    assert f"export {ALLOW_VARIABLE}=1" in result.stderr


@contextlib.contextmanager
def stopped_afterwards(state_dir: Path) -> Iterator[None]:
    """Should the refusal fail and an endpoint start, it does not outlive the test."""
    try:
        yield
    finally:
        down(state_dir)


def test_local_up_refuses_an_untested_moto_before_starting(tmp_path: Path, untested_moto_env: dict[str, str]) -> None:
    state_dir = tmp_path / ".reconciler"
    with stopped_afterwards(state_dir):
        result = run(["-m", "reconciler", "--no-color", "local", "up"], tmp_path, untested_moto_env)
    assert_refused(result, "Error: ")
    assert not (state_dir / "local-endpoint.json").exists()
    assert not (state_dir / "local-endpoint.log").exists()  # no endpoint process was started


def test_local_autostart_refuses_an_untested_moto(tmp_path: Path, untested_moto_env: dict[str, str]) -> None:
    spec = make_spec_project(tmp_path / "project")
    with stopped_afterwards(spec.parent / ".reconciler"):
        result = run(["-m", "reconciler", "--no-color", "-f", str(spec), "--local", "plan"], tmp_path,
                     untested_moto_env)
    assert_refused(result, "Error: ")
    assert not (spec.parent / ".reconciler" / "local-endpoint.log").exists()


def test_serve_refuses_an_untested_moto(tmp_path: Path, untested_moto_env: dict[str, str]) -> None:
    state_file = tmp_path / "state.json"
    result = run(["-m", "reconciler_local", "serve", "--port", "0", "--state-file", str(state_file)], tmp_path,
                 untested_moto_env)
    assert_refused(result, "error: ")
    assert not state_file.exists()


def test_serve_serves_an_untested_moto_when_allowed_with_a_warning(tmp_path: Path,
                                                                    untested_moto_env: dict[str, str]) -> None:
    state_file, log_path = tmp_path / "state.json", tmp_path / "endpoint.log"
    with open(log_path, "wb") as log_handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler_local", "serve", "--port", "0", "--state-file", str(state_file)],
            cwd=tmp_path, env={**untested_moto_env, ALLOW_VARIABLE: "1"}, stdin=subprocess.DEVNULL,
            stdout=log_handle, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not state_file.exists():
            assert process.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "the endpoint did not start"
            time.sleep(0.05)
        url = json.loads(state_file.read_text())["url"]
        with urllib.request.urlopen(f"{url}/_reconciler/health", timeout=10) as answer:
            assert json.loads(answer.read())["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    log = log_path.read_text(errors="replace")
    assert f"moto {UNTESTED} is installed, outside the tested range moto{SUPPORTED}; serving anyway" in log
