"""Start, find and stop the local endpoint as a background process (`reconcile local up/down/status`).

The background process is `python -m reconciler_local serve --state-file <state_dir>/local-endpoint.json
--data-file <state_dir>/local-endpoint-data.pickle`; it writes the state file once it listens and removes it
when it exits on SIGTERM/SIGINT, and keeps the endpoint's state (buckets, objects, roles, Glue resources, job
runs, crawls) in the data file across restarts (persistence.py). Its output goes to
`<state_dir>/local-endpoint.log`, job-run work directories (driver logs) to `<state_dir>/local-endpoint-work/`
(unless RECONCILER_LOCAL_WORK_DIR says otherwise). A state file whose pid is dead (or no longer answers as our
endpoint) is stale: `status` removes it and reports "not running". The CLI's state directory is the spec's
(`<spec dir>/.reconciler/`), so every command on one spec reaches one endpoint from any working directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import LocalEndpointError
from reconciler_local.moto_support import check_moto

DEFAULT_STATE_DIR = Path(".reconciler")
STATE_FILE_NAME = "local-endpoint.json"
LOG_FILE_NAME = "local-endpoint.log"
LOCK_FILE_NAME = "local-endpoint.lock"
DATA_FILE_NAME = "local-endpoint-data.pickle"
WORK_DIR_NAME = "local-endpoint-work"
WORK_DIR_VARIABLE = "RECONCILER_LOCAL_WORK_DIR"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


class AlreadyRunningError(LocalEndpointError):
    """`up --port P` while an endpoint already runs on another port."""

    def __init__(self, state: EndpointState, hint: str | None = None) -> None:
        super().__init__(
            f"the local endpoint is already running at {state.url} (pid {state.pid})",
            hint=hint or "run `reconcile local down` first to change the port",
        )
        self.state = state


@dataclass(frozen=True)
class EndpointState:
    url: str
    port: int
    pid: int
    started_at: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EndpointState:
        return cls(url=str(data["url"]), port=int(data["port"]), pid=int(data["pid"]),
                   started_at=str(data["started_at"]))


def state_file(state_dir: Path) -> Path:
    return state_dir / STATE_FILE_NAME


def log_file(state_dir: Path) -> Path:
    return state_dir / LOG_FILE_NAME


def data_file(state_dir: Path) -> Path:
    return state_dir / DATA_FILE_NAME


def read_state(path: Path) -> EndpointState | None:
    try:
        return EndpointState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (ours, not yet reaped) is dead for our purposes.
    with contextlib.suppress(ChildProcessError, OSError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    return True


def _request(url: str, method: str = "GET", body: dict[str, Any] | None = None,
             timeout: float = 5.0) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = response.read()
    result: dict[str, Any] = json.loads(payload) if payload else {}
    return result


def health(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The endpoint's health answer, or None when nothing (or not our endpoint) answers at `url`."""
    try:
        answer = _request(f"{url}/_reconciler/health", timeout=timeout)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return answer if answer.get("status") == "ok" else None


def status(state_dir: Path = DEFAULT_STATE_DIR) -> EndpointState | None:
    """The running endpoint's state, or None (removing a stale state file) when it is not running."""
    path = state_file(state_dir)
    state = read_state(path)
    if state is None:
        return None
    answer = health(state.url) if _pid_alive(state.pid) else None
    if answer is None or answer.get("pid") != state.pid:
        with contextlib.suppress(OSError):
            if read_state(path) == state:
                path.unlink()
        return None
    return state


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialise up/down across processes, so two `up` calls never start two endpoints."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(state_dir / LOCK_FILE_NAME, "a+")  # noqa: SIM115 -- closed by the `with` below; opening is what may fail
    except OSError as error:
        raise LocalEndpointError(
            f"cannot keep the local endpoint's state in {state_dir}/: {error.strerror or error}",
            hint="make it a writable directory, run from a directory you can write to, "
            "or start an endpoint elsewhere and pass --endpoint-url URL",
        ) from error
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def up(state_dir: Path = DEFAULT_STATE_DIR, port: int | None = None) -> EndpointState:
    """Start the endpoint in the background (or return the one already running) and wait until it answers.
    Raises AlreadyRunningError when one runs on another port than `port`."""
    return start(state_dir, port)[0]


def start(state_dir: Path = DEFAULT_STATE_DIR, port: int | None = None) -> tuple[EndpointState, bool]:
    """`up`, also saying whether this call started the endpoint (True) or found it running (False)."""
    with _locked(state_dir):
        running = status(state_dir)
        if running is not None:
            if port is not None and port != running.port:
                raise AlreadyRunningError(running)
            return running, False
        check_moto()  # before anything serves: an untested moto answers HTTP 500s (moto_support.py)
        path = state_file(state_dir)
        log_path = log_file(state_dir)
        command = [sys.executable, "-m", "reconciler_local", "serve", "--host", "127.0.0.1",
                   "--port", str(port or 0), "--state-file", str(path.resolve()),
                   "--data-file", str(data_file(state_dir).resolve()), "--log-file", str(log_path.resolve())]
        environment = dict(os.environ)
        # Job runs keep their logs under the state directory, where `down` leaves them for reading.
        environment.setdefault(WORK_DIR_VARIABLE, str((state_dir / WORK_DIR_NAME).resolve()))
        with open(log_path, "ab") as log_handle:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_handle,
                                       stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
                                       env=environment)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LocalEndpointError(
                    f"the local endpoint exited with code {process.returncode} while starting",
                    hint=f"its log ({log_path}) ends with:\n{_log_tail(log_path)}",
                )
            state = read_state(path)
            if state is not None and state.pid == process.pid and health(state.url):
                return state, True
            time.sleep(0.1)
        process.terminate()
        raise LocalEndpointError(
            f"the local endpoint did not answer within {START_TIMEOUT_SECONDS:.0f}s",
            hint=f"see its log: {log_path}",
        )


def down(state_dir: Path = DEFAULT_STATE_DIR) -> bool:
    """Stop the background endpoint; False when none was running."""
    with _locked(state_dir):
        state = status(state_dir)
        if state is None:
            return False
        os.kill(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while _pid_alive(state.pid):
            if time.monotonic() > deadline:
                os.kill(state.pid, signal.SIGKILL)
                break
            time.sleep(0.1)
        state_file(state_dir).unlink(missing_ok=True)
        return True


def ensure_running(state_dir: Path = DEFAULT_STATE_DIR) -> str:
    """The URL of the running endpoint, starting one if needed (what `--local` uses). A running endpoint
    is found without writing anything, so a read-only state directory only matters for starting one."""
    return ensure_running_state(state_dir)[0].url


def ensure_running_state(state_dir: Path = DEFAULT_STATE_DIR) -> tuple[EndpointState, bool]:
    """`ensure_running`, with the endpoint's state and whether this call started it."""
    running = status(state_dir)
    return (running, False) if running is not None else start(state_dir)


def save(url: str) -> bool:
    """Ask the endpoint at `url` to write its state to its data file now (if it changed), and wait until it has:
    True if it wrote. A command that exits right after (a one-command container, which SIGKILLs the endpoint
    it started) then leaves the state as it left it."""
    try:
        answer = _request(f"{url.rstrip('/')}/_reconciler/save", method="POST", timeout=120)
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        raise LocalEndpointError(f"the local endpoint could not save its state: {error.code} {detail}") from error
    except (OSError, ValueError, urllib.error.URLError) as error:
        raise LocalEndpointError(f"could not ask the local endpoint at {url} to save its state: {error}") from error
    return bool(answer.get("saved"))


def reset(url: str, keep_roles: tuple[str, ...] | list[str] = ()) -> None:
    """Forget everything: stop crawls, job runs and schedules, reset moto's state, clock and settings. IAM roles
    named in `keep_roles` are kept as they were (trust, inline policies, change time; see roles.py)."""
    body = {"keep_roles": list(keep_roles)} if keep_roles else None
    try:
        _request(f"{url.rstrip('/')}/_reconciler/reset", method="POST", body=body, timeout=60)
    except (OSError, urllib.error.URLError) as error:
        raise LocalEndpointError(f"could not reset the local endpoint at {url}: {error}") from error


def call_admin(url: str, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call an admin route (`clock`, `settings`, ...): POST with a body, GET without."""
    method = "POST" if body is not None else "GET"
    try:
        return _request(f"{url.rstrip('/')}/_reconciler/{route.lstrip('/')}", method=method, body=body,
                        timeout=30)
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        raise LocalEndpointError(f"admin call {method} {route} failed: {error.code} {detail}") from error
    except (OSError, urllib.error.URLError) as error:
        raise LocalEndpointError(f"admin call {method} {route} failed: {error}") from error
