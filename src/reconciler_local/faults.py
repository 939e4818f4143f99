"""Fault mode of the local endpoint: answer a chosen fraction of AWS requests with a transient failure.

Set per test with `POST /_reconciler/faults`, read the counts with `GET /_reconciler/faults`, cleared by
`POST /_reconciler/reset` (or `POST /_reconciler/faults {}`):

    {"rate": 0.2, "kinds": ["throttle", "slowdown", "500", "latency", "drop"], "seed": 1,
     "operations": ["glue:CreateJob", "s3:PutObject"],            # optional: only these are eligible
     "permanent": {"operation": "glue:CreateJob", "code": "AccessDeniedException",
                   "message": "optional text", "status": 429},       # always answered with this error
     "latency_seconds": 0.2,                                         # upper bound of added latency
     "max_per_operation": 1,                                         # optional: fault each operation at most n times
     "failed_entries": {"operation": "events:PutTargets", "code": "ConcurrentModificationException", "times": 1}}
                                                                     # HTTP 200, every entry failed (FailedEntryCount)

Kinds, each answered in the calling service's real error shape:
- `throttle`: Glue (JSON) 400 `ThrottlingException`, IAM/STS (Query) 400 `Throttling`, S3 503 `SlowDown`;
- `slowdown`: S3 503 `SlowDown` for every service's request (S3's throttling; others get `throttle`);
- `500`: HTTP 500 `InternalFailure` (JSON/Query) or `InternalError` (S3);
- `latency`: the request is served normally after a random delay up to `latency_seconds`;
- `drop`: the connection is closed without a response. Half of the drops happen *before* the request
  reaches moto, half *after* it was served (the response is lost; the client cannot tell whether the
  write happened: the ambiguous case retries must survive). botocore sees `ConnectionClosedError`.
  `drop_before` and `drop_after` choose one of the two.
- `raise`: not an AWS answer but a defect of the endpoint itself: the first grafted function (our code on
  moto's classes, `patching.graft`) this request reaches raises `InjectedFault`, a RuntimeError, and the
  endpoint answers as it does whenever its code raises (`server.EndpointApp`: HTTP 500 marked with
  `x-reconciler-internal-error`). A request that reaches no graft is served normally. Not among the defaults.

`GET /_reconciler/faults` also answers `aws_requests`: every AWS request the endpoint received since it
started, faults on or off, never reset (tests read it before and after to prove that no request was made).

Admin routes (`/_reconciler/...`) are never faulted nor counted. Operations are named `service:Operation`: Glue
from `X-Amz-Target`, REST-JSON services (QuickSight) from botocore's route of each operation (method and
requestUri), IAM/STS from the `Action` parameter, S3 from method, path and sub-resource (good
enough to target one operation, not a full S3 router).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]

KINDS = ("throttle", "slowdown", "500", "latency", "drop", "drop_before", "drop_after", "raise")
DEFAULT_KINDS = ("throttle", "slowdown", "500", "latency", "drop")

# S3 sub-resources that name a bucket operation: GET ?tagging -> GetBucketTagging, and so on.
_S3_SUBRESOURCES = {
    "tagging": "Tagging", "encryption": "Encryption", "policy": "Policy", "versioning": "Versioning",
    "publicAccessBlock": "PublicAccessBlock", "ownershipControls": "OwnershipControls",
    "location": "Location", "acl": "Acl", "lifecycle": "Lifecycle", "cors": "Cors",
}  # fmt: skip


@dataclass
class FaultConfig:
    rate: float = 0.0
    kinds: tuple[str, ...] = DEFAULT_KINDS
    seed: int | None = None
    operations: frozenset[str] | None = None
    permanent_operation: str | None = None
    permanent_code: str = "AccessDeniedException"
    permanent_message: str | None = None
    permanent_status: int | None = None  # HTTP status of the permanent error (default: 403 for an S3/Query
    # AccessDenied, else 400)
    latency_seconds: float = 0.2
    max_per_operation: int | None = None
    # EventBridge PutTargets / RemoveTargets answered HTTP 200 with every entry failed (FailedEntryCount,
    # FailedEntries {TargetId, ErrorCode, ErrorMessage}: botocore's events model, PutTargetsResponse /
    # RemoveTargetsResponse), `failed_entries_times` requests long (None: every one).
    failed_entries_operation: str | None = None
    failed_entries_code: str = "ConcurrentModificationException"
    failed_entries_times: int | None = None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> FaultConfig:
        known = {"rate", "kinds", "seed", "operations", "permanent", "latency_seconds", "max_per_operation",
                 "failed_entries"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        rate = float(body.get("rate", 0.0))
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, not {rate}")
        kinds = tuple(str(k) for k in body.get("kinds", DEFAULT_KINDS))
        bad = [k for k in kinds if k not in KINDS]
        if bad or not kinds:
            raise ValueError(f"unknown fault kinds {bad} (known: {', '.join(KINDS)})")
        operations = body.get("operations")
        config = cls(
            rate=rate,
            kinds=kinds,
            seed=None if body.get("seed") is None else int(body["seed"]),
            operations=None if operations is None else frozenset(str(o) for o in operations),
            latency_seconds=float(body.get("latency_seconds", 0.2)),
            max_per_operation=None if body.get("max_per_operation") is None else int(body["max_per_operation"]),
        )
        permanent = body.get("permanent")
        if permanent is not None:
            if not isinstance(permanent, dict) or "operation" not in permanent:
                raise ValueError('permanent must be {"operation": "service:Operation", "code": ...}')
            config.permanent_operation = str(permanent["operation"])
            config.permanent_code = str(permanent.get("code", "AccessDeniedException"))
            config.permanent_message = None if permanent.get("message") is None else str(permanent["message"])
            config.permanent_status = None if permanent.get("status") is None else int(permanent["status"])
        failed = body.get("failed_entries")
        if failed is not None:
            if not isinstance(failed, dict) or failed.get("operation") not in ("events:PutTargets",
                                                                               "events:RemoveTargets"):
                raise ValueError('failed_entries must be {"operation": "events:PutTargets" or '
                                 '"events:RemoveTargets", "code": ..., "times": N}')
            config.failed_entries_operation = str(failed["operation"])
            config.failed_entries_code = str(failed.get("code", "ConcurrentModificationException"))
            config.failed_entries_times = None if failed.get("times") is None else int(failed["times"])
        return config

    def as_dict(self) -> dict[str, Any]:
        permanent = None
        if self.permanent_operation:
            permanent = {"operation": self.permanent_operation, "code": self.permanent_code,
                         "message": self.permanent_message, "status": self.permanent_status}  # fmt: skip
        return {
            "rate": self.rate, "kinds": list(self.kinds), "seed": self.seed,
            "operations": None if self.operations is None else sorted(self.operations),
            "permanent": permanent, "latency_seconds": self.latency_seconds,
            "max_per_operation": self.max_per_operation,
            "failed_entries": None if self.failed_entries_operation is None else {
                "operation": self.failed_entries_operation, "code": self.failed_entries_code,
                "times": self.failed_entries_times},
        }  # fmt: skip


@dataclass
class Request:
    service: str  # "glue", "iam", "sts", "s3", ... ("" when unknown)
    operation: str  # "CreateJob", "PutObject", ...
    protocol: str  # "json", "query", "s3"

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"


def _service_of(environ: WSGIEnviron) -> str:
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    marker = "Credential="
    if marker in auth:
        scope = auth.split(marker, 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            return scope[3]
    return ""


def _s3_operation(method: str, path: str, query: dict[str, list[str]], environ: WSGIEnviron) -> str:
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "ListBuckets"
    has_key = len(parts) > 1
    verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}.get(method, method)
    if has_key:
        if "uploadId" in query:
            return {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload",
                    "GET": "ListParts"}.get(method, f"{verb}Object")  # fmt: skip
        if "uploads" in query and method == "POST":
            return "CreateMultipartUpload"
        if "tagging" in query:
            return f"{verb}ObjectTagging"
        if method == "PUT" and environ.get("HTTP_X_AMZ_COPY_SOURCE"):
            return "CopyObject"
        return f"{verb}Object"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    for sub, title in _S3_SUBRESOURCES.items():
        if sub in query:
            return f"{verb}Bucket{title}"
    if method == "GET":
        if "uploads" in query:
            return "ListMultipartUploads"
        if "versions" in query:
            return "ListObjectVersions"
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(method, f"{verb}Bucket")


@functools.cache
def _rest_routes(service: str) -> tuple[tuple[str, re.Pattern[str], int, str], ...]:
    """(method, path pattern, literal length, operation) of a REST-JSON service (QuickSight, ...) from botocore's
    model (each operation's `http.method` and `http.requestUri`); () for other protocols."""
    import botocore.session

    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception:
        return ()
    if model.protocol != "rest-json":
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = str(http.get("requestUri", "")).split("?", 1)[0]
        literal = re.sub(r"\{[^}]+\}", "", uri)
        pattern = re.sub(r"\\\{[^}]+?\\\+\\\}", ".+", re.escape(uri))
        pattern = re.sub(r"\\\{[^}]+?\\\}", "[^/]+", pattern)
        routes.append((str(http.get("method", "")), re.compile(f"^{pattern}$"), len(literal), name))
    return tuple(routes)


def _rest_json_operation(service: str, method: str, path: str) -> str:
    """The operation of a REST-JSON request whose route matches most literally (e.g. quicksight:CreateDataSource)."""
    matches = [(length, name) for m, pattern, length, name in _rest_routes(service) if m == method
               and pattern.match(path)]  # fmt: skip
    return max(matches)[1] if matches else ""


def protocol_of(environ: WSGIEnviron) -> str:
    """The request's protocol ("json", "s3" or "query") from its headers alone (the body is never read)."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    return "s3" if _service_of(environ) == "s3" else "query"


def identify(environ: WSGIEnviron) -> Request:
    """Name the AWS operation of a request. May buffer a small form body (the Query protocol)."""
    service = _service_of(environ)
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return Request(service or target.split(".", 1)[0].lower(), target.rsplit(".", 1)[-1], "json")
    method = str(environ.get("REQUEST_METHOD", "GET"))
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    if service == "s3":
        return Request("s3", _s3_operation(method, str(environ.get("PATH_INFO", "")), query, environ), "s3")
    rest = _rest_json_operation(service, method, str(environ.get("PATH_INFO", "")))
    if rest:
        return Request(service, rest, "json")
    action = query.get("Action", [""])[0]
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if not action and method == "POST" and "x-www-form-urlencoded" in content_type:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
    return Request(service, action or method, "query")


def error_response(request: Request, code: str, message: str, status: int) -> tuple[str, list[tuple[str, str]], bytes]:
    """AWS's error shape for the request's protocol: (status line, headers, body)."""
    request_id = uuid.uuid4().hex
    reasons = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error", 503: "Slow Down"}
    status_line = f"{status} {reasons.get(status, 'Error')}"
    if request.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code),
                   ("x-amzn-RequestId", request_id)]  # fmt: skip
    elif request.protocol == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    else:
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>{kind}</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    headers.append(("Content-Length", str(len(body))))
    return status_line, headers, body


class InjectedFault(RuntimeError):
    """The `raise` kind: raised inside a grafted function, as a defect of ours would be."""


_armed = threading.local()  # .operation: the request (served by this thread) whose next graft raises


def fault_point(function: str) -> None:
    """Called on entry to every grafted function (patching.graft): raises InjectedFault when the request
    this thread serves was given the `raise` fault and no graft has raised for it yet."""
    operation = getattr(_armed, "operation", None)
    if operation is not None:
        _armed.operation = None
        raise InjectedFault(f"fault injection: {function} raised while serving {operation}")


class DroppedConnection(ConnectionError):
    """Raised after closing the client's socket: werkzeug treats it as a dropped connection."""


@dataclass
class FaultInjector:
    """Decides per request whether to fault it; counts what it injected. Thread-safe."""

    config: FaultConfig = field(default_factory=FaultConfig)
    counts: Counter[str] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    #: every AWS request since start, faults on or off; never reset (see the module docstring)
    aws_requests: int = 0
    _rng: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, body: dict[str, Any]) -> None:
        config = FaultConfig.parse(body)
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self.counts.clear()
            self.by_operation.clear()
            self.requests = 0

    def reset(self) -> None:
        self.configure({})

    def shutdown(self) -> None:
        pass

    @property
    def active(self) -> bool:
        config = self.config
        return config.rate > 0 or config.permanent_operation is not None or config.failed_entries_operation is not None

    def _failed_entries(self, request: Request, environ: WSGIEnviron) -> bytes | None:
        """The partial-failure answer for this request, when failed_entries targets it (and has times left)."""
        config = self.config
        with self._lock:
            if config.failed_entries_operation != request.name or config.failed_entries_times == 0:
                return None
            if config.failed_entries_times is not None:
                config.failed_entries_times -= 1
            self.counts["failed_entries"] += 1
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b"{}"
        environ["wsgi.input"] = io.BytesIO(raw)
        body = json.loads(raw or b"{}")
        ids = [str(t.get("Id")) for t in body.get("Targets", [])] or [str(i) for i in body.get("Ids", [])]
        entries = [{"TargetId": i, "ErrorCode": config.failed_entries_code,
                    "ErrorMessage": f"{config.failed_entries_code} (injected)"} for i in ids]  # fmt: skip
        return json.dumps({"FailedEntryCount": len(entries), "FailedEntries": entries}).encode()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                **self.config.as_dict(),
                "requests": self.requests,
                "aws_requests": self.aws_requests,
                "injected": dict(self.counts),
                "injected_total": sum(n for k, n in self.counts.items() if k != "permanent"),
                "by_operation": dict(self.by_operation),
            }

    def _decide(self, request: Request) -> str | None:
        config = self.config
        with self._lock:
            self.requests += 1
            if config.permanent_operation == request.name:
                self.counts["permanent"] += 1
                self.by_operation[request.name] += 1
                return "permanent"
            if config.rate <= 0 or (config.operations is not None and request.name not in config.operations):
                return None
            if config.max_per_operation is not None and self.by_operation[request.name] >= config.max_per_operation:
                return None
            if self._rng.random() >= config.rate:
                return None
            kind = self._rng.choice(config.kinds)
            if kind == "drop":
                kind = self._rng.choice(("drop_before", "drop_after"))
            self.counts[kind] += 1
            self.by_operation[request.name] += 1
            return kind

    def latency(self) -> float:
        with self._lock:
            return self._rng.uniform(0.0, self.config.latency_seconds)

    def wrap(self, environ: WSGIEnviron, start_response: StartResponse, app: WSGIApp) -> Iterable[bytes]:
        """Serve `environ` through `app`, or fault it."""
        with self._lock:
            self.aws_requests += 1
        if not self.active:
            return app(environ, start_response)
        request = identify(environ)
        partial = self._failed_entries(request, environ)
        if partial is not None:
            start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                                      ("Content-Length", str(len(partial)))])  # fmt: skip
            return [partial]
        kind = self._decide(request)
        if kind is None:
            return app(environ, start_response)
        if kind == "permanent":
            code = self.config.permanent_code
            message = self.config.permanent_message or (
                f"User: arn:aws:iam::123456789012:user/testing is not authorized to perform: {request.name}"
            )
            status = 403 if "AccessDenied" in code and request.protocol != "json" else 400
            status = self.config.permanent_status or status
            return self._answer(start_response, error_response(request, code, message, status))
        if kind == "latency":
            time.sleep(self.latency())
            return app(environ, start_response)
        if kind == "raise":
            _armed.operation = request.name
            try:
                return app(environ, start_response)
            finally:
                _armed.operation = None
        if kind == "drop_before":
            _drop(environ)
        if kind == "drop_after":
            result = app(environ, lambda *args, **kwargs: (lambda data: None))
            try:
                for _ in result:
                    pass
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            _drop(environ)
        if kind == "500":
            code = "InternalError" if request.protocol == "s3" else "InternalFailure"
            answer = error_response(request, code, "We encountered an internal error. Please try again.", 500)
        elif request.protocol == "s3":  # throttle or slowdown: S3 throttles with 503 SlowDown
            answer = error_response(request, "SlowDown", "Please reduce your request rate.", 503)
        elif request.protocol == "json":
            answer = error_response(request, "ThrottlingException", "Rate exceeded", 400)
        else:
            answer = error_response(request, "Throttling", "Rate exceeded", 400)
        return self._answer(start_response, answer)

    @staticmethod
    def _answer(start_response: StartResponse, answer: tuple[str, list[tuple[str, str]], bytes]) -> list[bytes]:
        status, headers, body = answer
        start_response(status, headers)
        return [body]


def _drop(environ: WSGIEnviron) -> None:
    """Close the client's connection without a response (werkzeug's dev server exposes the socket)."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise DroppedConnection("fault injection: connection dropped")
