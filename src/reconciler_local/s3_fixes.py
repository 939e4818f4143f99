"""Fixes to moto's S3 where it differs from AWS in ways our pipeline meets.

1. Bucket policies: treat every request as arriving over TLS.

moto evaluates bucket policies but ignores their Condition blocks, so a standard "deny requests
without TLS" statement (`aws:SecureTransport = false`) denies *everything* on moto. On AWS that
statement only denies plain-HTTP requests. The local endpoint speaks HTTP on loopback, as if a TLS
proxy sat in front of it, so such statements never match here, exactly as for an HTTPS client on AWS.

2. CreateBucket with `CreateBucketConfiguration.Tags`: AWS tags the bucket as part of creating it;
moto ignores the tags. We apply them in the same request, so a client that dies right after
CreateBucket still leaves a bucket that carries its ownership tags, as on AWS.

3. DeleteObject in a bucket whose versioning was suspended crashes moto with HTTP 500 when the key's
latest version is a delete marker ("'FakeDeleteMarker' object has no attribute 'dispose'"): a delete
marker holds no data, so disposing of it is a no-op.

4. The new-bucket window (setting `new_bucket_seconds`, default 0 = off): for that many seconds after
CreateBucket, configuration calls on the bucket (GET/PUT of a bucket sub-resource such as ?tagging,
?versioning, ?policy, ?lifecycle, ?encryption, ?publicAccessBlock, ?ownershipControls) and PutObject
answer NoSuchBucket, as S3 can while a new bucket propagates: terraform-provider-aws
internal/service/s3/bucket.go retries NoSuchBucket on every configuration call after CreateBucket
(`bucketPropagationTimeout`), and the S3 User Guide's consistency model excludes bucket-level
configuration ("Bucket configurations have an eventual consistency model"). HeadBucket, ListObjects,
GetObject, DeleteBucket and CreateBucket itself are not delayed (not modelled: OperationAborted).

5. Conditional writes are atomic. moto 5.2 checks `If-Match` / `If-None-Match` on PutObject (412
PreconditionFailed when the ETag differs or the key exists, NoSuchKey for If-Match on a missing key) and
`If-Match` on DeleteObject, but checks and writes in two steps on a threaded server, so two conditional
writes of one key at the same moment can both succeed. On S3 exactly one does: the first to finish wins
and the others get 412 (Amazon S3 User Guide, "How to prevent object overwrites with conditional
writes"); the pipeline lock's lease relies on it. Conditional PutObject and DeleteObject requests are
therefore served one at a time.

6. Versioning's propagation window (setting `versioning_propagation_seconds`, default 0 = off). S3 API
reference, PutBucketVersioning: "When you enable versioning on a bucket for the first time, it might take a
short amount of time for the change to be fully propagated. While this change is propagating, you might
encounter intermittent HTTP 404 NoSuchKey errors for requests to objects created or updated after enabling
versioning. We recommend that you wait for 15 minutes after enabling versioning before issuing write
operations (PUT or DELETE) on objects in the bucket." For that many seconds after versioning is first
enabled on a bucket, GetObject, HeadObject, DeleteObject and a conditional PutObject (`If-Match`) of an
object created or updated after enabling answer 404 NoSuchKey intermittently: two requests of every three
for the key. Listings (ListObjectsV2) are not affected: S3 documents strong read-after-write consistency
for them (Amazon S3 User Guide, "Amazon S3 data consistency model"), and the quirk is about requests to
objects. Unconditional and `If-None-Match` puts are not affected (not modelled: whether they are).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import xmltodict

from reconciler_local.moto_api import (
    FakeBucket,
    FakeDeleteMarker,
    FakeKey,
    IAMPolicy,
    MissingBucket,
    MissingKey,
    PermissionResult,
    S3Response,
    utcnow,
)
from reconciler_local.patching import graft, original
from reconciler_local.runtime import get_runtime

# Bucket sub-resources whose GET/PUT is a configuration call (S3 API reference: GetBucket* / PutBucket*).
CONFIGURATION_SUBRESOURCES = frozenset({
    "accelerate", "acl", "analytics", "cors", "encryption", "intelligent-tiering", "inventory", "lifecycle",
    "logging", "metrics", "notification", "object-lock", "ownershipControls", "policy", "policyStatus",
    "publicAccessBlock", "replication", "requestPayment", "tagging", "versioning", "website",
})


def in_new_bucket_window(backend: Any, bucket_name: str) -> bool:
    window = float(get_runtime().settings.new_bucket_seconds)
    if window <= 0:
        return False
    try:
        bucket = backend.get_bucket(bucket_name)
    except MissingBucket:
        return False
    created: datetime = bucket.creation_date
    return (datetime.now(UTC) - created).total_seconds() < window


_VERSIONING_LAG = threading.Lock()


def _note_versioning_enabled(backend: Any, bucket_name: str) -> None:
    """Remember when versioning was *first* enabled (a later Suspended/Enabled does not restart the window)."""
    bucket: Any = backend.get_bucket(bucket_name)  # Any: our attribute on moto's FakeBucket
    if bucket.versioning_status == "Enabled" and getattr(bucket, "versioning_enabled_at", None) is None:
        bucket.versioning_enabled_at = utcnow()


def in_versioning_window(backend: Any, bucket_name: str, key_name: str) -> bool:
    """Whether this request to `key_name` answers 404 NoSuchKey: the key's object was written after versioning
    was first enabled less than `versioning_propagation_seconds` ago, and it is not every third request."""
    window = float(get_runtime().settings.versioning_propagation_seconds)
    if window <= 0:
        return False
    try:
        bucket: Any = backend.get_bucket(bucket_name)
    except MissingBucket:
        return False
    enabled = getattr(bucket, "versioning_enabled_at", None)
    if enabled is None or (utcnow() - enabled).total_seconds() >= window:
        return False
    key = bucket.keys.get(key_name)
    if not isinstance(key, FakeKey) or isinstance(key, FakeDeleteMarker) or key.last_modified < enabled:
        return False
    with _VERSIONING_LAG:
        counts: dict[str, int] = bucket.__dict__.setdefault("versioning_404_counts", {})
        counts[key_name] = counts.get(key_name, 0) + 1
        return counts[key_name] % 3 != 0


def _denies_only_insecure_transport(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    bool_test = condition.get("Bool") or {}
    return statement.get("Effect") == "Deny" and str(bool_test.get("aws:SecureTransport", "")).lower() == "false"


class _TlsAwareBucket(FakeBucket):
    def get_permission(self, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        kept = [s for s in statements if not _denies_only_insecure_transport(s)]
        if not kept:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**document, "Statement": kept})).is_action_permitted(action, resource)


class _DisposableDeleteMarker(FakeDeleteMarker):
    def dispose(self, garbage: bool = False) -> None:
        return None


def _create_tags(body: bytes | str | None) -> dict[str, str]:
    if not body:
        return {}
    try:
        config = xmltodict.parse(body, force_list={"Tag": True}).get("CreateBucketConfiguration") or {}
    except Exception:  # not XML: moto answers the request itself
        return {}
    tags = (config.get("Tags") or {}).get("Tag") or []
    return {str(t["Key"]): str(t.get("Value") or "") for t in tags}


_LIFECYCLE_LAG = threading.Lock()


def _lifecycle_lagging(bucket: Any) -> bool:
    window = float(get_runtime().settings.lifecycle_propagation_seconds)
    changed = float(getattr(bucket, "lifecycle_changed_at", 0.0))
    return window > 0 and time.time() - changed < window


class _TaggingCreateBucket(S3Response):
    def _bucket_response_put(self, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        if CONFIGURATION_SUBRESOURCES & set(querystring) and in_new_bucket_window(self.backend, bucket_name):
            raise MissingBucket(bucket_name)
        if "lifecycle" in querystring:
            # Lifecycle configuration propagates: for lifecycle_propagation_seconds after a put, a read still
            # answers the configuration before it (S3 User Guide, "Setting an S3 Lifecycle configuration on a
            # bucket": "there is usually some lag before a new or updated Lifecycle configuration is fully
            # propagated to all the Amazon S3 systems"; terraform-provider-aws
            # internal/service/s3/bucket_lifecycle_configuration.go re-reads until the rules are stable).
            bucket: Any = self.backend.get_bucket(bucket_name)  # Any: our attributes on moto's FakeBucket
            with _LIFECYCLE_LAG:
                if not _lifecycle_lagging(bucket):
                    bucket.lifecycle_previous = list(getattr(bucket, "rules", []) or [])
                bucket.lifecycle_changed_at = time.time()
        result = original(S3Response, "_bucket_response_put")(self, request, bucket_name, querystring)
        if "versioning" in querystring:
            _note_versioning_enabled(self.backend, bucket_name)
        if not querystring:
            tags = _create_tags(self.body)
            if tags:
                self.backend.put_bucket_tagging(bucket_name, tags)
        return result

    def _bucket_response_get(self, bucket_name: str, querystring: dict[str, Any]) -> Any:
        if CONFIGURATION_SUBRESOURCES & set(querystring) and in_new_bucket_window(self.backend, bucket_name):
            raise MissingBucket(bucket_name)
        if "lifecycle" in querystring:
            found: Any = self.backend.get_bucket(bucket_name)
            with _LIFECYCLE_LAG:
                if _lifecycle_lagging(found):
                    bucket = found
                    current = bucket.rules
                    bucket.rules = list(getattr(bucket, "lifecycle_previous", []))
                    try:
                        return original(S3Response, "_bucket_response_get")(self, bucket_name, querystring)
                    finally:
                        bucket.rules = current
        return original(S3Response, "_bucket_response_get")(self, bucket_name, querystring)

    def _key_response_put(self, query: dict[str, Any], key_name: str) -> Any:
        if in_new_bucket_window(self.backend, self.bucket_name):
            raise MissingBucket(self.bucket_name)
        return original(S3Response, "_key_response_put")(self, query, key_name)


_CONDITIONAL = threading.Lock()


def _is_conditional(response: S3Response) -> bool:
    return bool(response.headers.get("If-Match") or response.headers.get("If-None-Match"))


class _AtomicConditionalWrites(S3Response):
    def put_object(self) -> Any:
        if self.headers.get("If-Match") and in_versioning_window(self.backend, self.bucket_name, self.parse_key_name()):
            raise MissingKey(self.parse_key_name())
        if not _is_conditional(self):
            return original(S3Response, "put_object")(self)
        with _CONDITIONAL:  # the check and the write as one step, as on S3
            return original(S3Response, "put_object")(self)

    def get_object(self) -> Any:
        if in_versioning_window(self.backend, self.bucket_name, self.parse_key_name()):
            raise MissingKey(self.parse_key_name())
        return original(S3Response, "get_object")(self)

    def head_object(self, bucket_name: str, query: dict[str, Any], key_name: str, headers: dict[str, Any]) -> Any:
        if in_versioning_window(self.backend, bucket_name, key_name):
            return 404, {}, ""  # HeadObject answers 404 without a body, as for a missing key
        return original(S3Response, "head_object")(self, bucket_name, query, key_name, headers)

    def delete_object(self) -> Any:
        if in_versioning_window(self.backend, self.bucket_name, self.parse_key_name()):
            raise MissingKey(self.parse_key_name())
        if not _is_conditional(self):
            return original(S3Response, "delete_object")(self)
        with _CONDITIONAL:
            return original(S3Response, "delete_object")(self)


def install() -> None:
    graft(FakeBucket, _TlsAwareBucket)
    graft(FakeDeleteMarker, _DisposableDeleteMarker)
    graft(S3Response, _TaggingCreateBucket)
    graft(S3Response, _AtomicConditionalWrites)
