"""Uploads: local files or directory trees mirrored to keys in the bucket.

Objects are compared by a sha256 of their content that we store in object metadata
(`x-amz-meta-sha256`), never by mtime or ETag (ETag is no MD5 for multipart or KMS objects), so
unchanged data is never re-sent. Objects under a prefix that the source does not have are left
alone: data is never deleted without an explicit force (destroy --force on the bucket).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, ClassVar

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from ..aws import AwsContext
from ..model import Pipeline, Upload
from .base import Account, AttrChange, Desired, Observed, ResourceKind, aws_error, is_not_found

HASH_META = "sha256"
# Multipart above 64 MiB in 16 MiB parts, 8 parts in flight: large raw files go up in parallel.
TRANSFER = TransferConfig(multipart_threshold=64 * 2**20, multipart_chunksize=16 * 2**20, max_concurrency=8)

def sha256_file(path: Path, chunk: int = 2**20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def local_files(upload: Upload) -> dict[str, Path]:
    """Object key -> local file for one upload entry, in a stable order."""
    if not upload.is_dir:
        return {upload.prefix + upload.source.name: upload.source}
    files: dict[str, Path] = {}
    for root, dirs, names in os.walk(upload.source):
        dirs.sort()
        for fname in sorted(names):
            path = Path(root) / fname
            if path.is_file():
                rel = path.relative_to(upload.source).as_posix()
                files[upload.prefix + rel] = path
    return files


def upload_name(upload: Upload) -> str:
    return upload.prefix if upload.is_dir else upload.prefix + upload.source.name


def _files_of(pipeline: Pipeline, name: str) -> dict[str, Path]:
    """The local files of the upload called `name` (recomputed: kinds keep no state between calls)."""
    for upload in pipeline.uploads:
        if upload_name(upload) == name:
            return local_files(upload)
    return {}


class UploadKind(ResourceKind):
    kind: ClassVar[str] = "upload"
    level: ClassVar[int] = 1
    def __init__(self) -> None:
        self.bytes_sent = 0

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        out = []
        for upload in pipeline.uploads:
            files = local_files(upload)
            name = upload_name(upload)
            objects = {key: {"sha256": sha256_file(path), "size": path.stat().st_size} for key, path in files.items()}
            out.append(Desired(self.kind, name, {"bucket": pipeline.bucket.name, "objects": objects}))
        return out

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        bucket = pipeline.bucket.name
        wanted = set(_files_of(pipeline, name))
        objects: dict[str, Any] = {}
        try:
            listed = self._list(ctx, bucket, name)
        except ClientError as exc:
            if is_not_found(exc):
                return None  # no bucket yet: everything is to be uploaded
            raise aws_error("listing", f"s3://{bucket}/{name}", exc) from exc
        for key, size in listed.items():
            if key not in wanted:
                continue  # not ours to judge: never deleted by an upload
            head = ctx.call("s3", "head_object", Bucket=bucket, Key=key)
            objects[key] = {"sha256": head.get("Metadata", {}).get(HASH_META), "size": size}
        # Uploads live inside the bucket; the bucket's ownership is what guards them.
        return Observed({"bucket": bucket, "objects": objects}, pipeline.ownership_tags)

    @staticmethod
    def _list(ctx: AwsContext, bucket: str, prefix: str) -> dict[str, int]:
        listed: dict[str, int] = {}
        paginator = ctx.client("s3").get_paginator("list_objects_v2")
        for page in ctx.retry.call(lambda: list(paginator.paginate(Bucket=bucket, Prefix=prefix))):
            for obj in page.get("Contents", []):
                listed[obj["Key"]] = int(obj["Size"])
        return listed

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        return []  # uploads go with their bucket; never deleted one by one

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        self._send(ctx, desired, list(desired.attrs["objects"]), pipeline)

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        keys = sorted({c.keys[1] for c in changes if c.top == "objects" and len(c.keys) > 1 and c.after})
        self._send(ctx, desired, keys, pipeline)

    def _send(self, ctx: AwsContext, desired: Desired, keys: list[str], pipeline: Pipeline) -> None:
        files = _files_of(pipeline, desired.name)
        s3 = ctx.client("s3")
        for key in keys:
            meta = desired.attrs["objects"][key]
            path = files[key]

            def send(path: Path = path, key: str = key, meta: dict[str, Any] = meta) -> None:
                s3.upload_file(
                    str(path), desired.attrs["bucket"], key,
                    ExtraArgs={"Metadata": {HASH_META: meta["sha256"]}},
                    Config=TRANSFER, Callback=lambda n: self._on_bytes(ctx, desired.name, n),
                )  # fmt: skip

            try:
                ctx.retry.call(send)
            except ClientError as exc:
                raise aws_error("uploading", f"{path} to s3://{desired.attrs['bucket']}/{key}", exc) from exc

    def _on_bytes(self, ctx: AwsContext, name: str, n: int) -> None:
        self.bytes_sent += n
        if ctx.on_upload_bytes is not None:
            ctx.on_upload_bytes(name, n)

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        return None  # see list_owned
