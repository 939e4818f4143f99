"""The local endpoint's HTTP server: moto's server app, with our additions installed, on 127.0.0.1.

`LocalEndpoint.start()` serves in a background thread of the current process (what `serve` and the
tests' subprocess use); `lifecycle.up()` starts `python -m reconciler_local serve` as a detached process.
Requests under `/_reconciler/` go to our admin app (`admin.py`); everything else goes to moto's
`DomainDispatcherApplication`, which picks the service from the request's signature and target.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from werkzeug.serving import BaseWSGIServer, make_server

from reconciler.aws.retry import INTERNAL_ERROR_HEADER, INTERNAL_ERROR_LOG_HEADER
from reconciler_local import persistence
from reconciler_local.admin import ADMIN_PREFIX, SAVE_ROUTE, AdminApp, StartResponse, WSGIEnviron
from reconciler_local.faults import DroppedConnection, FaultInjector, Request, error_response, protocol_of
from reconciler_local.glue.crawler_runtime import crawler_runtime
from reconciler_local.glue.job_runtime import job_runtime
from reconciler_local.install import install
from reconciler_local.moto_api import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from reconciler_local.persistence import READ_ONLY_METHODS, Saver
from reconciler_local.runtime import Runtime, get_runtime

log = logging.getLogger("reconciler_local")


class _QuietRequestHandler(MotoRequestHandler):
    """werkzeug logs every request at INFO to stderr; we log them at DEBUG on our own logger."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug('"%s" %s %s', self.requestline, code, size)


class EndpointApp:
    """The WSGI app: admin routes first, then moto (through the fault injector, see faults.py)."""

    def __init__(self, runtime: Runtime) -> None:
        self.on_change: Callable[[], None] | None = None  # persistence.Saver.mark_dirty, with a data file
        self.faults = FaultInjector()
        runtime.register(self.faults)  # reset clears the fault mode
        self.admin = AdminApp(runtime, faults=self.faults)
        self.moto = DomainDispatcherApplication(create_backend_app)
        #: where this process's log goes (`serve --log-file`), named in internal-error answers
        self.log_file: Path | None = None

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        mutating = environ.get("REQUEST_METHOD") not in READ_ONLY_METHODS and path != SAVE_ROUTE
        on_change = self.on_change if mutating else None
        if on_change is not None:
            on_change()  # before the change, so an endpoint killed during it still saves it if it can
        if isinstance(path, str) and path.startswith(ADMIN_PREFIX):
            result = self.admin(environ, start_response)
        else:
            try:
                result = self.faults.wrap(environ, start_response, self.moto)
            except DroppedConnection:
                raise
            except Exception as error:  # our code (or moto's) raised: moto's Flask apps run with debug on,
                # so an exception in a view propagates to here instead of becoming Flask's HTML 500 page.
                result = self.internal_error(environ, start_response, error)
        if on_change is not None:
            on_change()  # and after it: a save that ran during the request may have missed it
        return result

    def internal_error(self, environ: WSGIEnviron, start_response: StartResponse, error: Exception) -> list[bytes]:
        """HTTP 500 in the request's protocol, marked INTERNAL_ERROR_HEADER (the exception's type) so that the
        CLI reports a failure of this endpoint, not of AWS, and does not retry it; the traceback goes to the log.
        AWS's own 500 (which the fault mode's `500` kind imitates) carries no such header."""
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        log.error("internal error serving %s %s", method, path, exc_info=error)
        protocol = protocol_of(environ)
        code = "InternalError" if protocol == "s3" else "InternalFailure"
        message = f"{type(error).__name__}: {error}"
        if protocol != "json":  # an XML body (error_response does not escape)
            message = xml_escape(message)
        status, headers, body = error_response(Request("", "", protocol), code, message, 500)
        headers.append((INTERNAL_ERROR_HEADER, type(error).__name__))
        if self.log_file is not None:
            headers.append((INTERNAL_ERROR_LOG_HEADER, str(self.log_file)))
        start_response(status, headers)
        return [body]


class LocalEndpoint:
    """A running endpoint in this process. Use `LocalEndpoint.start()`, then `.url`, then `.stop()`."""

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread, runtime: Runtime,
                 saver: Saver | None = None) -> None:
        self._saver = saver
        self._server = server
        self._thread = thread
        self.runtime = runtime
        self.host = str(server.server_address[0])
        self.port = int(server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def start(cls, host: str = "127.0.0.1", port: int = 0, data_file: Path | None = None,
              log_file: Path | None = None) -> LocalEndpoint:
        """Install our additions on moto (once), bind `host:port` (0 = a free port) and serve. With `data_file`,
        the state saved there is restored before the first request and saved as it changes (persistence.py)."""
        runtime = get_runtime()
        app = EndpointApp(runtime)
        app.log_file = log_file
        install(runtime, app.admin)
        saver: Saver | None = None
        if data_file is not None:
            persistence.restore(data_file, runtime)
            saver = Saver(data_file, runtime)
            app.on_change = saver.mark_dirty
            app.admin.save_state = saver.flush
            crawler_runtime().listeners.append(saver.mark_dirty)
            job_runtime().listeners.append(saver.mark_dirty)
            saver.start()
        server = make_server(host, port, app, threaded=True, request_handler=_QuietRequestHandler)
        thread = threading.Thread(target=server.serve_forever, name="reconciler-local-endpoint", daemon=True)
        thread.start()
        endpoint = cls(server, thread, runtime, saver)
        runtime.endpoint_url = endpoint.url
        log.info("local endpoint listening on %s", endpoint.url)
        return endpoint

    def stop(self) -> None:
        self.runtime.shutdown()
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        if self._saver is not None:
            self._saver.stop_and_save()  # every run has ended and no request comes in any more

    def __enter__(self) -> LocalEndpoint:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def write_state_file(path: Path, endpoint: LocalEndpoint) -> None:
    """Write `{"url","port","pid","started_at"}` atomically (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "url": endpoint.url,
        "port": endpoint.port,
        "pid": os.getpid(),
        "started_at": datetime.now(UTC).isoformat(),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(state), encoding="utf-8")
    os.replace(temporary, path)


def remove_state_file(path: Path) -> None:
    """Remove the state file if it is still ours (a newer server may have replaced it)."""
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if state.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def serve(host: str = "127.0.0.1", port: int = 0, state_file: Path | None = None,
          data_file: Path | None = None, log_file: Path | None = None) -> int:
    """Serve in the foreground until SIGTERM/SIGINT; write the state file once listening; with `data_file`, keep
    the endpoint's state there across restarts (persistence.py)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    endpoint = LocalEndpoint.start(host, port, data_file, log_file)
    try:
        if state_file is not None:
            write_state_file(state_file, endpoint)
        print(f"reconciler local endpoint: {endpoint.url} (pid {os.getpid()})", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        if state_file is not None:
            remove_state_file(state_file)
        started = time.monotonic()
        endpoint.stop()
        log.info("stopped in %.1fs", time.monotonic() - started)
    return 0
