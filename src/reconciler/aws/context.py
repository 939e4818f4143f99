"""The thin I/O edge to AWS: one context object carrying the session, region, endpoint and clients.

Credentials and the endpoint come from boto3's standard chain; `--endpoint-url` / `--local` override the
endpoint. botocore resolves a client's endpoint per service, first found wins: the client's `endpoint_url`
(our `--endpoint-url`), `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the profile's `services` section,
the profile's `endpoint_url`, else AWS's own endpoint; `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` or the profile's
`ignore_configured_endpoint_urls` turns the configured ones off (AWS SDKs and Tools Reference Guide,
"Service-specific endpoints"; botocore configprovider.ConfiguredEndpointProvider). Every decision that
depends on the endpoint reads the client's resolved `meta.endpoint_url` (`resolved_endpoint`,
`custom_endpoint`), never `--endpoint-url` alone. Tests pass their own endpoint in from outside.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import S3Transfer, TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from reconciler.aws.errors import map_exception
from reconciler.aws.retry import RetryPolicy, error_code

# Our own retry layer (retry.py) decides what to retry; botocore's would multiply attempts.
_BOTO_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=10, read_timeout=120)

# Config's `ignore_configured_endpoint_urls` (botocore/config.py, since botocore 1.31) is missing from the
# installed botocore-stubs' Config signature: passed through a dict, which is how botocore reads it anyway.
_IGNORE_OPTIONS: dict[str, Any] = {"ignore_configured_endpoint_urls": True}
_IGNORE_CONFIGURED = _BOTO_CONFIG.merge(Config(**_IGNORE_OPTIONS))

MUTATING_PREFIXES = (
    "Create", "Update", "Delete", "Put", "Tag", "Untag", "Start", "Stop", "Batch", "Attach", "Detach",
    "Upload", "Complete", "Abort", "Copy",
)  # fmt: skip


#: TEST HOOK, off by default: `RECONCILER_TEST_CRASH_AFTER=<k>` makes the process SIGKILL itself right
#: after its k-th *successful* mutating AWS call (MUTATING_PREFIXES) returns, with no cleanup at all.
#: The crash matrix (tests/reliability/test_crash.py) uses it to prove that a rerun converges from a
#: crash at every step. Unset (or not a positive integer), nothing is registered.
CRASH_AFTER_ENV = "RECONCILER_TEST_CRASH_AFTER"


def is_mutating(operation: str) -> bool:
    return operation.startswith(MUTATING_PREFIXES) and not operation.startswith("BatchGet")


#: Reads that one plan may share between its parts (same operation, same parameters, same answer).
#: GetObject is not among them: its body is a stream that can be read once.
_SHAREABLE_READS = ("get_", "list_", "head_", "batch_get_")
_UNSHAREABLE_READS = frozenset({"get_object"})


class CrashAfter:
    """The `RECONCILER_TEST_CRASH_AFTER` hook: a botocore `after-call` handler (thread-safe)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.count = 0
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> CrashAfter | None:
        value = os.environ.get(CRASH_AFTER_ENV, "").strip()
        return cls(int(value)) if value.isdigit() and int(value) > 0 else None

    def __call__(self, http_response: Any, model: Any, **_: Any) -> None:
        if not is_mutating(model.name) or int(getattr(http_response, "status_code", 500)) >= 300:
            return
        with self._lock:
            self.count += 1
            if self.count == self.k:
                os.kill(os.getpid(), signal.SIGKILL)


class CallCounter:
    """Counts AWS API calls per operation via botocore's event hooks (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}:{model.name}"
        with self._lock:
            self.calls[name] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def mutating(self) -> int:
        return sum(n for op, n in self.calls.items() if is_mutating(op.split(":", 1)[1]))


@dataclass
class AwsContext:
    region: str
    endpoint_url: str | None = None
    profile: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    counter: CallCounter = field(default_factory=CallCounter)
    #: called as (upload name, bytes just sent) while uploading, for progress bars
    on_upload_bytes: Callable[[str, int], None] | None = None
    _session: boto3.Session | None = field(default=None, init=False, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    #: per service: the endpoint in force when it is not AWS's own (custom_endpoint), None on AWS
    _custom: dict[str, str | None] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _account_id: str | None = field(default=None, init=False, repr=False)
    #: while not None, identical reads are made once (see shared_reads)
    _memo: dict[str, Future[Any]] | None = field(default=None, init=False, repr=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _identity_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def client(self, service: str) -> Any:
        """A cached boto3 client; creation is serialised because sessions are not thread-safe.
        An unknown profile or a missing region is one of our errors, never botocore's traceback."""
        try:
            return self._client(service)
        except Exception as exc:
            raise map_exception(exc, service=service, operation="(client)", endpoint=self.endpoint_url) from exc

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                if self._session is None:
                    self._session = boto3.Session(profile_name=self.profile, region_name=self.region)
                    self._session.events.register("before-call", self.counter)
                    crash = CrashAfter.from_environment()
                    if crash is not None:  # test hook only, see CRASH_AFTER_ENV
                        self._session.events.register("after-call", crash)
                session: Any = self._session  # boto3-stubs overloads per service name; we key by string

                def make(config: Config) -> Any:
                    return session.client(service, region_name=self.region, endpoint_url=self.endpoint_url,
                                          config=config)  # fmt: skip

                client = None if self.endpoint_url else make(_BOTO_CONFIG)
                custom = self.endpoint_url or self._configured_endpoint(session, service, client)
                if custom and service == "s3":
                    # A custom endpoint on an IP cannot do virtual-hosted buckets.
                    client = make(_BOTO_CONFIG.merge(Config(s3={"addressing_style": "path"})))
                elif client is None:
                    client = make(_BOTO_CONFIG)
                self._clients[service] = client
                self._custom[service] = custom
            return self._clients[service]

    def _configured_endpoint(self, session: Any, service: str, client: Any) -> str | None:
        """The endpoint boto3's configuration gives `service` (env or profile, see the module docstring), or
        None when the client resolved AWS's own: botocore itself decides, by comparing the client with one
        made with `ignore_configured_endpoint_urls` (botocore.config.Config), so precedence, the service's
        variable name and the `services` section are exactly botocore's."""
        resolved = str(client.meta.endpoint_url)
        own = session.client(service, region_name=self.region, config=_IGNORE_CONFIGURED).meta.endpoint_url
        return resolved if resolved != str(own) else None

    def resolved_endpoint(self, service: str) -> str:
        """The URL `service`'s requests go to, as botocore resolved it (the client's `meta.endpoint_url`)."""
        return str(self.client(service).meta.endpoint_url)

    def custom_endpoint(self, service: str) -> str | None:
        """The endpoint `service`'s requests go to when it is not AWS's own (given with --endpoint-url/--local,
        or configured: AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, the profile), else None."""
        self.client(service)
        return self._custom.get(service)

    @property
    def account_id(self) -> str:
        with self._identity_lock:  # once, even when several reading threads ask at the same moment
            if self._account_id is None:
                ident = self.call("sts", "get_caller_identity")
                self._account_id = str(ident["Account"])
            return self._account_id

    @property
    def partition(self) -> str:
        """The region's ARN partition from botocore's partition data (aws-cn, aws-us-gov, aws-eusc, aws-iso*;
        spec/regions.py partition_of), "aws" for a region no partition claims."""
        from reconciler.spec.regions import partition_of

        return partition_of(self.region) or "aws"

    def glue_arn(self, resource: str, name: str) -> str:
        return f"arn:{self.partition}:glue:{self.region}:{self.account_id}:{resource}/{name}"

    def call(self, service: str, operation: str, **kwargs: Any) -> Any:
        """Call `operation` (snake_case) with transient-error retries."""
        memo = self._memo
        if memo is None or not operation.startswith(_SHAREABLE_READS) or operation in _UNSHAREABLE_READS:
            return self._call(service, operation, kwargs)
        key = f"{service}:{operation}:{json.dumps(kwargs, sort_keys=True, default=str)}"
        with self._memo_lock:
            future = memo.get(key)
            first = future is None
            if future is None:
                future = memo[key] = Future()
        if first:
            try:
                future.set_result(self._call(service, operation, kwargs))
            except BaseException as exc:  # a not-found answer is an answer too: shared like any other
                future.set_exception(exc)
                if error_code(exc) == "NoSuchBucket":
                    # ... except a bucket's NoSuchBucket: in S3's new-bucket window it is a passing answer
                    # (aws/retry.py while_bucket_is_new), so the caller's retry must reach S3 again.
                    with self._memo_lock:
                        if memo.get(key) is future:
                            del memo[key]
        return future.result()

    def _call(self, service: str, operation: str, kwargs: dict[str, Any], *, retry: bool = True) -> Any:
        method = getattr(self.client(service), operation)
        return self.guarded(service, operation, lambda: method(**kwargs), retry=retry)

    def call_fresh(self, service: str, operation: str, **kwargs: Any) -> Any:
        """call() that is never shared (shared_reads): for polling, where the next answer must be new."""
        return self._call(service, operation, kwargs)

    def call_once(self, service: str, operation: str, **kwargs: Any) -> Any:
        """One attempt, errors mapped like call(): for calls whose retry must first look at what the
        failed attempt did (StartJobRun may have started a run even when its answer was lost)."""
        return self._call(service, operation, kwargs, retry=False)

    def pages(self, service: str, operation: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Every page of a paginated read, retried and error-mapped like call() (a retry starts the
        listing over: botocore's paginator keeps no resumable position between pages)."""
        paginator = self.client(service).get_paginator(operation)
        pages: list[dict[str, Any]] = self.guarded(service, operation, lambda: list(paginator.paginate(**kwargs)))
        return pages

    def guarded(self, service: str, operation: str, fn: Callable[[], Any], *, retry: bool = True) -> Any:
        """The error boundary: every botocore and connection error of one call (or of `fn`, for boto3
        helpers such as S3Transfer that make their own calls) becomes one of our typed
        errors (reconciler.errors: NotFoundError, AccessDeniedError, ThrottledError, ...), once, here."""
        attempts = 0

        def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            return fn()

        try:
            return self.retry.call(attempt) if retry else attempt()
        except Exception as exc:
            endpoint = self._custom.get(service, self.endpoint_url)
            raise map_exception(
                exc, service=service, operation=operation, attempts=attempts, endpoint=endpoint
            ) from exc

    @contextmanager
    def s3_uploads(self, sizes: TransferSizes) -> Iterator[S3Uploads]:
        """One S3 transfer manager (one thread pool, one set of connections) for many files, each sent
        through the error boundary (`guarded`): boto3's client.upload_file builds and tears down one per file."""
        config = TransferConfig(multipart_threshold=sizes.multipart_threshold,
                                multipart_chunksize=sizes.multipart_chunksize, max_concurrency=sizes.max_concurrency)
        # boto3-stubs declare S3Transfer's config as another type than the boto3 TransferConfig it takes
        with S3Transfer(client=self.client("s3"), config=config) as transfer:  # type: ignore[arg-type]
            yield S3Uploads(self, transfer)

    @contextmanager
    def shared_reads(self) -> Iterator[None]:
        """Within this block an identical read (e.g. a resource's tags, needed both to read it and to
        list what we own) is sent once and its answer shared. Only for a plan's read phase: nothing
        is written meanwhile, so the answers cannot go stale. Callers must not mutate the answers."""
        self._memo = {}
        try:
            yield
        finally:
            self._memo = None


@dataclass(frozen=True)
class TransferSizes:
    """boto3's TransferConfig, the parts we set: multipart above `multipart_threshold` bytes, in parts of
    `multipart_chunksize`, `max_concurrency` parts at a time per file."""

    multipart_threshold: int
    multipart_chunksize: int
    max_concurrency: int


class S3Uploads:
    """Files sent by one S3 transfer manager (AwsContext.s3_uploads); errors are ours, as for every call."""

    def __init__(self, ctx: AwsContext, transfer: S3Transfer) -> None:
        self._ctx, self._transfer = ctx, transfer

    def upload_file(self, path: str, bucket: str, key: str, *, metadata: dict[str, str],
                    callback: Callable[[int], None] | None = None) -> None:  # fmt: skip
        """PutObject (or a multipart upload) of the file at `path`, retried and error-mapped like a call."""

        def send() -> None:
            try:
                self._transfer.upload_file(path, bucket, key, extra_args={"Metadata": metadata}, callback=callback)
            except S3UploadFailedError as exc:
                # boto3 wraps the failed PutObject/UploadPart's ClientError in S3UploadFailedError, which
                # neither the retries (a 503 SlowDown is transient) nor the error mapping recognise: hand on
                # the ClientError itself, with AWS's code.
                if isinstance(exc.__context__, ClientError):
                    raise exc.__context__ from None
                raise

        self._ctx.guarded("s3", "put_object", send)
