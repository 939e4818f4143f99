"""spec.security_configuration: the rule a schema cannot state (the model is built by build.py).

The schema (schema/pipeline.v1.json, spec.security_configuration) states the shape and the modes; here:
`kms_key_arn` is required exactly when a mode uses KMS (SSE-KMS, CSE-KMS), and must be a KMS key ARN of the
pipeline's region (rules.kms_key_arn_problems, as for the bucket's key). The Glue API takes the key per
mode (EncryptionConfiguration: S3Encryption, CloudWatchEncryption, JobBookmarksEncryption each carry a
KmsKeyArn); the spec names one key for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.spec import rules

DocPath = tuple[str | int, ...]
BASE: DocPath = ("spec", "security_configuration")
MODES = ("s3_encryption", "cloudwatch_encryption", "job_bookmarks_encryption")
KMS_MODES = frozenset({"SSE-KMS", "CSE-KMS"})

__all__ = ["security_configuration_findings", "uses_kms"]


def uses_kms(modes: Mapping[str, Any]) -> bool:
    return any(modes.get(mode) in KMS_MODES for mode in MODES)


def security_configuration_findings(doc: Any) -> list[tuple[DocPath, str]]:
    spec = doc.get("spec") if isinstance(doc, dict) else None
    section = spec.get("security_configuration") if isinstance(spec, dict) else None
    if not isinstance(section, dict):
        return []
    metadata = doc.get("metadata")
    region = metadata.get("region") if isinstance(metadata, dict) else None
    key = section.get("kms_key_arn")
    if uses_kms(section) and key is None:
        return [((*BASE, "kms_key_arn"), "is required when a mode is SSE-KMS or CSE-KMS")]
    if not uses_kms(section) and key is not None:
        return [((*BASE, "kms_key_arn"), "is only allowed when a mode is SSE-KMS or CSE-KMS")]
    if isinstance(key, str):
        return [((*BASE, "kms_key_arn"), p) for p in rules.kms_key_arn_problems(key, region)]
    return []

