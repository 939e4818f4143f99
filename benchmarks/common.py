"""Shared pieces of the benchmarks: an in-process endpoint with a server-side request counter, timers,
medians, temporary projects and the machine's load.

Everything here is measurement plumbing; nothing is imported by the product.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("BENCH_DIR", "/tmp/reconciler-bench"))
REGION = "eu-central-1"
DUMMY_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
             "AWS_DEFAULT_REGION": REGION}  # fmt: skip
_SCOPE = re.compile(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/aws4_request")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def dummy_credentials() -> None:
    os.environ.update(DUMMY_ENV)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)


@dataclass
class RequestCounter:
    """WSGI middleware: counts requests per service:operation and request body bytes, server-side.

    Glue/IAM operations come from X-Amz-Target / Action; S3 ones are METHOD plus the sub-resource,
    which is enough to tell listings, GETs, HEADs and PUTs apart for whichever client sent them."""

    app: Callable[[Environ, StartResponse], Iterable[bytes]]
    calls: Counter[str] = field(default_factory=Counter)
    body_bytes: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        service = "admin"
        match = _SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
        if match:
            service = match.group(1)
        method = str(environ.get("REQUEST_METHOD", ""))
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if target:
            op = target.rsplit(".", 1)[-1]
        elif service == "s3":
            query = str(environ.get("QUERY_STRING", ""))
            sub = "list" if ("list-type" in query or (method == "GET" and _is_bucket(environ))) else ""
            sub = sub or ("uploads" if "uploads" in query else "part" if "partNumber" in query else "")
            op = f"{method}{'-' + sub if sub else ''}"
        else:
            op = method
        length = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH") or environ.get("CONTENT_LENGTH") or 0
        with self._lock:
            key = f"{service}:{op}"
            self.calls[key] += 1
            if method in {"PUT", "POST"} and service == "s3":
                self.body_bytes[key] += int(length)
        return self.app(environ, start_response)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.body_bytes.clear()

    def snapshot(self) -> tuple[Counter[str], int]:
        with self._lock:
            return Counter(self.calls), sum(self.body_bytes.values())


def _is_bucket(environ: Environ) -> bool:
    path = str(environ.get("PATH_INFO", "")).strip("/")
    return "/" not in path


class Endpoint:
    """`LocalEndpoint.start()` with a `RequestCounter` in front of its app."""

    def __init__(self) -> None:
        from reconciler_local.server import LocalEndpoint

        self.local = LocalEndpoint.start()
        server: Any = self.local._server
        self.counter = RequestCounter(server.app)
        server.app = self.counter
        self.url = self.local.url

    def admin(self, route: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(f"{self.url}/_reconciler/{route}", data=data, method="POST",
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"{}")

    def reset(self) -> None:
        self.admin("reset")
        self.counter.reset()

    def stop(self) -> None:
        self.local.stop()


@contextmanager
def endpoint() -> Iterator[Endpoint]:
    ep = Endpoint()
    try:
        yield ep
    finally:
        ep.stop()


#: when `make bench` started (run_all sets it), for targets that decide what still fits the budget
BENCH_STARTED = time.perf_counter()


def tool_in_venv(venv: Path, package: str, executable: str) -> Path:
    """`executable` from its own virtualenv (made and filled from PyPI on first use): peers and reference
    engines never share our dependencies."""
    path = venv / "bin" / executable
    if not path.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", package], check=True)
    return path


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def fmt_runs(values: list[float], unit: str = "s", digits: int = 2) -> str:
    """'1.23 s (1.20, 1.23, 1.40)': the median and every run."""
    runs = ", ".join(f"{v:.{digits}f}" for v in values)
    return f"{median(values):.{digits}f} {unit} ({runs})"


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


def make_project(root: Path, *, data: Path | None = None, drop_sections: tuple[str, ...] = (),
                 job_script: str | None = None, spec_text: str | None = None) -> Path:  # fmt: skip
    """A throw-away project: pipeline.yaml (optionally without some top-level spec sections), data,
    the job script (or a replacement) and the QuickSight template. Returns the spec path."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / "Data").mkdir()
    if data is None:
        shutil.copytree(REPO / "Data" / "sample" / "car_brands", root / "Data" / "car_brands")
    else:  # large data stays where it is; the upload is allowed to follow the link
        os.symlink(data.resolve(), root / "Data" / "car_brands", target_is_directory=True)
    (root / "glue_scripts").mkdir()
    if job_script is None:
        shutil.copy(REPO / "glue_scripts" / "car_brands_job.py", root / "glue_scripts" / "car_brands_job.py")
    else:
        (root / "glue_scripts" / "car_brands_job.py").write_text(job_script, encoding="utf-8")
    shutil.copytree(REPO / "quicksight", root / "quicksight")
    text = spec_text
    if text is None:
        text = drop_spec_sections((REPO / "pipeline.yaml").read_text(), drop_sections)
    if data is not None:
        text = text.replace(
            "      prefix: raw/car_brands/\n", "      prefix: raw/car_brands/\n      allow_outside_project: true\n", 1
        )
    spec = root / "pipeline.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


def drop_spec_sections(text: str, sections: tuple[str, ...]) -> str:
    """Remove `  name:` blocks (two-space indented keys under `spec:`) from the example spec."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\n")
        if stripped.startswith("  ") and not stripped.startswith("   ") and stripped.strip():
            skipping = stripped.strip().split(":", 1)[0] in sections
        elif stripped and not stripped.startswith(" "):
            skipping = False
        if not skipping:
            out.append(line)
    return "".join(out)
