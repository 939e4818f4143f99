"""The IAM actions, and the resources, AWS evaluates for an S3 request (setting `enforce_iam`).

moto 5.2.6 authorises an S3 request as `s3:<OperationName>` (`s3:ListObjectsV2`, `s3:HeadBucket`), names
IAM does not know, on the ARN moto parsed from the URL. AWS evaluates the *policy action* the Amazon S3
User Guide lists for each operation ("Required permissions for Amazon S3 API operations", and the
Service Authorization Reference's "Actions defined by Amazon S3", column "Resource types"):

- HeadBucket, ListObjects, ListObjectsV2: s3:ListBucket on the bucket (HeadBucket API reference: "you
  must have the s3:ListBucket permission"); ListObjectVersions: s3:ListBucketVersions;
- HeadObject and GetObject: s3:GetObject on the object, s3:GetObjectVersion with a versionId (HeadObject
  API reference: "you must have the s3:GetObject permission ... s3:GetObjectVersion" for a version);
- DeleteObject: s3:DeleteObject, s3:DeleteObjectVersion with a versionId (DeleteObject API reference);
- DeleteObjects: s3:DeleteObject on *each key's* ARN, s3:DeleteObjectVersion for keys with a VersionId
  (DeleteObjects API reference: "you must have the s3:DeleteObject ... s3:DeleteObjectVersion permission");
  a denied key fails in the answer's Errors (`AccessDenied`), not the request; when any key is denied, moto's
  `_bucket_response_delete_keys(authenticated=False)` answers every key of that request as AccessDenied
  (stricter than AWS, which fails only the denied keys);
- CopyObject and UploadPartCopy: s3:PutObject on the target and s3:GetObject (s3:GetObjectVersion with a
  versionId) on the source (CopyObject API reference, "Permissions");
- the multipart calls: s3:PutObject (CreateMultipartUpload API reference), s3:AbortMultipartUpload,
  s3:ListMultipartUploadParts, s3:ListBucketMultipartUploads;
- bucket sub-resources: the SAR names (GetBucketEncryption -> s3:GetEncryptionConfiguration, ...), a
  Delete* of one configuration is its Put* action (e.g. DeleteBucketLifecycle -> s3:PutLifecycleConfiguration,
  DeleteBucketEncryption -> s3:PutEncryptionConfiguration: the SAR has no separate delete action);
- ListBuckets: s3:ListAllMyBuckets on `*`.

An operation not in this table keeps `s3:<Operation>` (no policy short of `s3:*` grants it: an operation
the tool does not call stays refused rather than silently allowed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import xmltodict

#: Operation -> (action, action with a versionId or None). Bucket-level unless listed in OBJECT_OPERATIONS.
ACTIONS: dict[str, tuple[str, str | None]] = {
    "ListBuckets": ("s3:ListAllMyBuckets", None),
    "HeadBucket": ("s3:ListBucket", None),
    "ListObjects": ("s3:ListBucket", None),
    "ListObjectsV2": ("s3:ListBucket", None),
    "ListObjectVersions": ("s3:ListBucketVersions", None),
    "ListMultipartUploads": ("s3:ListBucketMultipartUploads", None),
    "CreateBucket": ("s3:CreateBucket", None),
    "DeleteBucket": ("s3:DeleteBucket", None),
    "GetBucketLocation": ("s3:GetBucketLocation", None),
    "GetBucketVersioning": ("s3:GetBucketVersioning", None),
    "PutBucketVersioning": ("s3:PutBucketVersioning", None),
    "GetBucketTagging": ("s3:GetBucketTagging", None),
    "PutBucketTagging": ("s3:PutBucketTagging", None),
    "DeleteBucketTagging": ("s3:PutBucketTagging", None),
    "GetBucketEncryption": ("s3:GetEncryptionConfiguration", None),
    "PutBucketEncryption": ("s3:PutEncryptionConfiguration", None),
    "DeleteBucketEncryption": ("s3:PutEncryptionConfiguration", None),
    "GetBucketLifecycle": ("s3:GetLifecycleConfiguration", None),
    "GetBucketLifecycleConfiguration": ("s3:GetLifecycleConfiguration", None),
    "PutBucketLifecycle": ("s3:PutLifecycleConfiguration", None),
    "PutBucketLifecycleConfiguration": ("s3:PutLifecycleConfiguration", None),
    "DeleteBucketLifecycle": ("s3:PutLifecycleConfiguration", None),
    "GetPublicAccessBlock": ("s3:GetBucketPublicAccessBlock", None),
    "PutPublicAccessBlock": ("s3:PutBucketPublicAccessBlock", None),
    "DeletePublicAccessBlock": ("s3:PutBucketPublicAccessBlock", None),
    "GetBucketOwnershipControls": ("s3:GetBucketOwnershipControls", None),
    "PutBucketOwnershipControls": ("s3:PutBucketOwnershipControls", None),
    "DeleteBucketOwnershipControls": ("s3:PutBucketOwnershipControls", None),
    "GetBucketPolicy": ("s3:GetBucketPolicy", None),
    "PutBucketPolicy": ("s3:PutBucketPolicy", None),
    "DeleteBucketPolicy": ("s3:DeleteBucketPolicy", None),
    "GetBucketPolicyStatus": ("s3:GetBucketPolicyStatus", None),
    "GetBucketAcl": ("s3:GetBucketAcl", None),
    "PutBucketAcl": ("s3:PutBucketAcl", None),
    "GetBucketCors": ("s3:GetBucketCORS", None),
    "PutBucketCors": ("s3:PutBucketCORS", None),
    "DeleteBucketCors": ("s3:PutBucketCORS", None),
    "GetBucketLogging": ("s3:GetBucketLogging", None),
    "PutBucketLogging": ("s3:PutBucketLogging", None),
    "GetBucketNotificationConfiguration": ("s3:GetBucketNotification", None),
    "PutBucketNotificationConfiguration": ("s3:PutBucketNotification", None),
    "GetBucketWebsite": ("s3:GetBucketWebsite", None),
    "PutBucketWebsite": ("s3:PutBucketWebsite", None),
    "DeleteBucketWebsite": ("s3:DeleteBucketWebsite", None),
    "GetBucketAccelerateConfiguration": ("s3:GetAccelerateConfiguration", None),
    "PutBucketAccelerateConfiguration": ("s3:PutAccelerateConfiguration", None),
    "GetBucketReplication": ("s3:GetReplicationConfiguration", None),
    "PutBucketReplication": ("s3:PutReplicationConfiguration", None),
    "DeleteBucketReplication": ("s3:PutReplicationConfiguration", None),
    "GetObjectLockConfiguration": ("s3:GetBucketObjectLockConfiguration", None),
    "PutObjectLockConfiguration": ("s3:PutBucketObjectLockConfiguration", None),
    "GetBucketRequestPayment": ("s3:GetBucketRequestPayment", None),
    "PutBucketRequestPayment": ("s3:PutBucketRequestPayment", None),
    "GetBucketInventoryConfiguration": ("s3:GetInventoryConfiguration", None),
    "PutBucketInventoryConfiguration": ("s3:PutInventoryConfiguration", None),
    "DeleteBucketInventoryConfiguration": ("s3:PutInventoryConfiguration", None),
    "ListBucketInventoryConfigurations": ("s3:GetInventoryConfiguration", None),
    # objects
    "GetObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "HeadObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "SelectObjectContent": ("s3:GetObject", None),
    "PutObject": ("s3:PutObject", None),
    "CreateMultipartUpload": ("s3:PutObject", None),
    "UploadPart": ("s3:PutObject", None),
    "CompleteMultipartUpload": ("s3:PutObject", None),
    "AbortMultipartUpload": ("s3:AbortMultipartUpload", None),
    "ListParts": ("s3:ListMultipartUploadParts", None),
    "DeleteObject": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
    "GetObjectTagging": ("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    "PutObjectTagging": ("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
    "DeleteObjectTagging": ("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
    "GetObjectAcl": ("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    "PutObjectAcl": ("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
    "GetObjectAttributes": ("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
    "RestoreObject": ("s3:RestoreObject", None),
    "GetObjectLegalHold": ("s3:GetObjectLegalHold", None),
    "PutObjectLegalHold": ("s3:PutObjectLegalHold", None),
    "GetObjectRetention": ("s3:GetObjectRetention", None),
    "PutObjectRetention": ("s3:PutObjectRetention", None),
}

#: GetObjectAttributes also needs read access to the object (GetObjectAttributes API reference: "you must
#: have permissions for the s3:GetObjectAttributes and s3:GetObject actions", the Version variants for a version).
ALSO: dict[str, tuple[str, str]] = {"GetObjectAttributes": ("s3:GetObject", "s3:GetObjectVersion")}


def _version_id(querystring: Mapping[str, Any]) -> str | None:
    value = querystring.get("versionId")
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value else None


def _copy_source(headers: Mapping[str, Any], partition: str) -> tuple[str, bool] | None:
    """The source object's ARN of a CopyObject / UploadPartCopy and whether it names a version."""
    source = headers.get("x-amz-copy-source") or headers.get("X-Amz-Copy-Source")
    if not source:
        return None
    path, _, query = unquote(str(source)).lstrip("/").partition("?versionId=")
    return f"arn:{partition}:s3:::{path}", bool(query)


def checks(operation: str | None, resource: str, partition: str, querystring: Mapping[str, Any],
           headers: Mapping[str, Any], body: bytes | str | None) -> list[tuple[str, str]]:
    """(action, resource) pairs AWS evaluates for one S3 request; `resource` is the ARN moto derived
    from the URL (`arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`)."""
    if not operation:
        return [("s3:ListBucket", resource)]
    version = _version_id(querystring)
    if operation == "DeleteObjects":
        bucket_arn = resource.split("/", 1)[0]
        document = xmltodict.parse(body or b"<Delete/>") or {}
        objects = (document.get("Delete") or {}).get("Object") or []
        if not isinstance(objects, list):
            objects = [objects]
        out = [("s3:DeleteObjectVersion" if obj.get("VersionId") else "s3:DeleteObject",
                f"{bucket_arn}/{obj.get('Key', '')}") for obj in objects if isinstance(obj, dict)]
        return out or [("s3:DeleteObject", f"{bucket_arn}/*")]
    if operation in ("CopyObject", "UploadPartCopy"):
        out = [("s3:PutObject", resource)]
        source = _copy_source(headers, partition)
        if source:
            out.append(("s3:GetObjectVersion" if source[1] else "s3:GetObject", source[0]))
        return out
    if operation == "ListBuckets":
        return [("s3:ListAllMyBuckets", "*")]
    plain, versioned = ACTIONS.get(operation, (f"s3:{operation}", None))
    out = [(versioned if version and versioned else plain, resource)]
    if operation in ALSO:
        also_plain, also_versioned = ALSO[operation]
        out.append((also_versioned if version else also_plain, resource))
    return out
