"""Admin routes of the local endpoint, under `/_reconciler/` (never an AWS path).

| route | does |
|---|---|
| `GET  /_reconciler/health` | `{"status": "ok", "pid": ..., "now": ...}`: the endpoint answers |
| `POST /_reconciler/reset` | stop every crawl, job run and schedule; reset moto's state, clock, settings |
|                           | (`{"keep_roles": [names]}` keeps those IAM roles as they were, see roles.py) |
| `GET  /_reconciler/clock` | `{"now": ISO, "offset_seconds": N}`: the clock schedules are evaluated on |
| `POST /_reconciler/clock` | `{"now": "2026-10-01T00:00:00Z"}`, `{"advance_seconds": N}`, `{"real": true}` |
| `GET  /_reconciler/settings` | the runtime settings (see `runtime.Settings`) |
| `POST /_reconciler/settings` | change settings, e.g. `{"timeout_minute_seconds": 1}` |
| `GET  /_reconciler/faults` | the fault mode and what it injected so far (see `faults.py`) |
| `POST /_reconciler/faults` | set the fault mode, e.g. `{"rate": 0.2, "seed": 1}`; `{}` turns it off |
| `POST /_reconciler/save` | write the state to the data file now, if it changed: `{"saved": bool}` (persistence.py) |
| `GET  /_reconciler/job-runs/<run id>/log` | the job run's driver stdout+stderr as text/plain |
| `GET  /_reconciler/job-runs/<run id>` | where the run's files are: `{"log_path", "work_dir", ...}` |
| `POST /_reconciler/s3/declared-size` | test-only: `{"bucket": B, "key": K, "size": N}`: object K lists and |
|                           | heads as N bytes, not stored (s3store.S3Store.declare_size) |

Everything answers JSON except the log route; errors are `{"error": message}` with 4xx.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from reconciler_local import roles
from reconciler_local.clock import parse_instant
from reconciler_local.faults import FaultInjector
from reconciler_local.runtime import Runtime
from reconciler_local.s3store import S3Error, store_with_bucket

ADMIN_PREFIX = "/_reconciler/"
SAVE_ROUTE = "/_reconciler/save"

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
JobRunFiles = Callable[[str], dict[str, Any] | None]


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status=status, mimetype="application/json")


class BadRequest(Exception):
    pass


class AdminApp:
    """A small WSGI app; the server routes `/_reconciler/*` here and everything else to moto."""

    def __init__(self, runtime: Runtime, faults: FaultInjector | None = None) -> None:
        self.runtime = runtime
        self.faults = faults if faults is not None else FaultInjector()
        # Set by the job runtime (phase 3); None means "no job runtime installed".
        self.job_run_files: JobRunFiles | None = None
        # Set by the server when it keeps its state in a data file: saves now, True if anything had changed.
        self.save_state: Callable[[], bool] | None = None
        self.url_map = Map(
            [
                Rule("/_reconciler/health", endpoint="health", methods=["GET"]),
                Rule("/_reconciler/reset", endpoint="reset", methods=["POST"]),
                Rule("/_reconciler/clock", endpoint="clock", methods=["GET", "POST"]),
                Rule("/_reconciler/settings", endpoint="settings", methods=["GET", "POST"]),
                Rule("/_reconciler/faults", endpoint="faults", methods=["GET", "POST"]),
                Rule(SAVE_ROUTE, endpoint="save", methods=["POST"]),
                Rule("/_reconciler/job-runs/<run_id>/log", endpoint="job_run_log", methods=["GET"]),
                Rule("/_reconciler/job-runs/<run_id>", endpoint="job_run", methods=["GET"]),
                Rule("/_reconciler/s3/declared-size", endpoint="declared_size", methods=["POST"]),
            ]
        )

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
            response = getattr(self, f"on_{endpoint}")(request, **values)
        except NotFound:
            response = _json({"error": f"no admin route {request.path}"}, 404)
        except MethodNotAllowed:
            response = _json({"error": f"{request.method} not allowed on {request.path}"}, 405)
        except BadRequest as error:
            response = _json({"error": str(error)}, 400)
        except HTTPException as error:  # pragma: no cover - werkzeug's own errors
            response = _json({"error": str(error)}, error.code or 500)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if not request.data:
            return {}
        try:
            body = json.loads(request.data)
        except ValueError as error:
            raise BadRequest(f"body is not JSON: {error}") from error
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        return body

    def on_health(self, request: Request) -> Response:
        return _json({"status": "ok", "pid": os.getpid(), "now": self.runtime.clock.now().isoformat()})

    def on_reset(self, request: Request) -> Response:
        keep = self._body(request).get("keep_roles", [])
        if not isinstance(keep, list) or not all(isinstance(name, str) for name in keep):
            raise BadRequest('keep_roles must be a list of role names')
        kept = roles.keep_across_reset(keep)
        self.runtime.reset()
        roles.restore_roles(kept)
        return _json({"status": "ok", "kept_roles": sorted(role.name for role in kept)})

    def _clock_state(self) -> dict[str, Any]:
        clock = self.runtime.clock
        return {"now": clock.now().isoformat(), "offset_seconds": clock.offset.total_seconds()}

    def on_clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = self._body(request)
            try:
                if "now" in body:
                    self.runtime.clock.set(parse_instant(str(body["now"])))
                elif "advance_seconds" in body:
                    self.runtime.clock.advance(float(body["advance_seconds"]))
                elif body.get("real"):
                    self.runtime.clock.reset()
                else:
                    raise BadRequest('expected {"now": ISO}, {"advance_seconds": N} or {"real": true}')
            except ValueError as error:
                raise BadRequest(str(error)) from error
        return _json(self._clock_state())

    def on_settings(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.runtime.settings.update(self._body(request))
            except (ValueError, TypeError) as error:
                raise BadRequest(str(error)) from error
            self.runtime.settings_changed()
        return _json(self.runtime.settings.as_dict())

    def on_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.faults.configure(self._body(request))
            except (ValueError, TypeError) as error:
                raise BadRequest(str(error)) from error
        return _json(self.faults.state())

    def on_declared_size(self, request: Request) -> Response:
        body = self._body(request)
        bucket, key, size = body.get("bucket"), body.get("key"), body.get("size")
        if not isinstance(bucket, str) or not isinstance(key, str) or not isinstance(size, int) or size < 0:
            raise BadRequest('expected {"bucket": name, "key": key, "size": bytes (an integer, 0 or more)}')
        try:
            store_with_bucket(bucket).declare_size(bucket, key, size)
        except S3Error as error:
            raise BadRequest(str(error)) from error
        return _json({"bucket": bucket, "key": key, "size": size})

    def on_save(self, request: Request) -> Response:
        if self.save_state is None:
            return _json({"saved": False, "persistent": False})
        try:
            saved = self.save_state()
        except Exception as error:
            return _json({"error": f"could not save the state: {type(error).__name__}: {error}"}, 500)
        return _json({"saved": saved, "persistent": True})

    def _job_run(self, run_id: str) -> dict[str, Any]:
        files = self.job_run_files(run_id) if self.job_run_files else None
        if files is None:
            raise NotFound()
        return files

    def on_job_run(self, request: Request, run_id: str) -> Response:
        try:
            return _json(self._job_run(run_id))
        except NotFound:
            return _json({"error": f"job run {run_id} not found"}, 404)

    def on_job_run_log(self, request: Request, run_id: str) -> Response:
        try:
            files = self._job_run(run_id)
        except NotFound:
            return _json({"error": f"job run {run_id} not found"}, 404)
        log_path = files.get("log_path")
        text = ""
        if log_path and os.path.exists(log_path):
            with open(log_path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        return Response(text, mimetype="text/plain")
