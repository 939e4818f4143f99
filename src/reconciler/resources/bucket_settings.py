"""The bucket's settings as the spec states them and as S3 answers them: encryption, tags, and our lifecycle
rules for the tool's own keys. Pure functions; resources/bucket.py reads and writes them."""

from __future__ import annotations

import contextlib
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.spec import reserved
from reconciler.spec.layout import Layout
from reconciler.spec.model import Encryption, Pipeline


def expand_encryption(enc: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {"SSEAlgorithm": enc["algorithm"]}
    if enc.get("kms_key_arn"):
        rule["KMSMasterKeyID"] = enc["kms_key_arn"]
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": rule, "BucketKeyEnabled": enc["algorithm"] == "aws:kms"}]}


def tag_set_dict(tag_set: list[dict[str, Any]]) -> dict[str, str]:
    """GetBucketTagging's TagSet as a dict. An empty value (our reconciler:keys when metadata.tags is empty) is
    valid ("Value ... Minimum length of 0", Amazon S3 API reference, Tag); moto 5.2.5's PutBucketTagging stores it
    as None (xmltodict reads <Value></Value> as None, moto/s3/responses.py) and GetBucketTagging then answers a
    Tag without Value: read as "" either way."""
    return {str(t["Key"]): str(t.get("Value") or "") for t in tag_set}


def flatten_encryption(config: dict[str, Any]) -> dict[str, Any]:
    rules = config.get("Rules") or [{}]
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {})
    out: dict[str, Any] = {"algorithm": default.get("SSEAlgorithm")}
    if default.get("KMSMasterKeyID"):
        out["kms_key_arn"] = default["KMSMasterKeyID"]
    return out


LIFECYCLE_STEADY_TIMEOUT = 120.0
LIFECYCLE_STEADY_READS = 2
LIFECYCLE_POLL_SECONDS = 0.5

#: Our lifecycle rules' IDs start with this; rules with other IDs are someone else's and are kept.
LIFECYCLE_ID = "reconciler-"
#: How long a rewritten internal object's old versions stay (a month of lock, serial, pointer and manifest
#: history to look back at). Every rewrite of a key in a versioned bucket keeps the old version forever
#: otherwise (S3 User Guide, "Retaining multiple versions of objects with S3 Versioning").
NONCURRENT_DAYS = 30


def internal_keys(pipeline: Pipeline) -> list[str]:
    """Keys (prefixes) this tool rewrites in the bucket: .reconciler/ (lock, serial, caches), the published
    pointer and the QuickSight manifest."""
    published: list[str] = []
    with contextlib.suppress(ReconcilerError):  # no job output in the bucket: nothing published, no pointer
        published.append(Layout.of(pipeline).base_key)
    manifest = pipeline.quicksight.manifest
    return reserved.internal_keys(published, manifest.key if manifest is not None else None)


def lifecycle_rules(pipeline: Pipeline) -> list[dict[str, Any]]:
    """Our rules as the lifecycle attribute holds them. NoncurrentVersionExpiration and
    ExpiredObjectDeleteMarker: S3 API reference, LifecycleRule / LifecycleExpiration ("Indicates whether
    Amazon S3 will remove a delete marker with no noncurrent versions")."""
    rules: list[dict[str, Any]] = [
        {"id": f"{LIFECYCLE_ID}noncurrent:{key}", "prefix": key, "noncurrent_days": NONCURRENT_DAYS}
        for key in internal_keys(pipeline)
    ]
    rules.append({"id": f"{LIFECYCLE_ID}expired-delete-markers", "prefix": "", "expired_object_delete_marker": True})
    return sorted(rules, key=lambda r: str(r["id"]))


def expand_rule(rule: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ID": rule["id"], "Status": "Enabled", "Filter": {"Prefix": rule["prefix"]}}
    if "noncurrent_days" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["noncurrent_days"]}
    if rule.get("expired_object_delete_marker"):
        out["Expiration"] = {"ExpiredObjectDeleteMarker": True}
    return out


def flatten_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """GetBucketLifecycleConfiguration -> our rules (None when there are none of ours)."""
    ours = []
    for r in rules:
        if not str(r.get("ID", "")).startswith(LIFECYCLE_ID) or r.get("Status") != "Enabled":
            continue
        prefix = (r.get("Filter") or {}).get("Prefix", r.get("Prefix", ""))
        rule: dict[str, Any] = {"id": r["ID"], "prefix": prefix}
        if "NoncurrentVersionExpiration" in r:
            rule["noncurrent_days"] = r["NoncurrentVersionExpiration"].get("NoncurrentDays")
        if (r.get("Expiration") or {}).get("ExpiredObjectDeleteMarker"):
            rule["expired_object_delete_marker"] = True
        ours.append(rule)
    return sorted(ours, key=lambda r: str(r["id"])) or None


def encryption_attrs(encryption: Encryption) -> dict[str, Any]:
    """spec.bucket.encryption -> the encryption attribute (the SSEAlgorithm names of PutBucketEncryption)."""
    if encryption.type != "SSE-KMS":
        return {"algorithm": "AES256"}
    if encryption.kms_key_arn:
        return {"algorithm": "aws:kms", "kms_key_arn": encryption.kms_key_arn}
    return {"algorithm": "aws:kms"}
