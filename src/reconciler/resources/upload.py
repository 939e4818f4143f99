"""Uploads: local files or directory trees mirrored to keys in the bucket.

Objects are compared by a sha256 of their content that we store in object metadata
(`x-amz-meta-sha256`), never by mtime or ETag (ETag is no MD5 for multipart or KMS objects), so
unchanged data is never re-sent.

Stale and foreign objects are never silent:
- *Stale*: an object under a directory upload's prefix that the source no longer has (a file deleted
  locally). By default it is left alone and the plan says so (count and first keys, `Observed.notes`), and
  `reconcile run` refuses a quarter whose ingest folder holds one (`stale_keys`, unless --accept-stale).
  With `prune: true` on the upload the plan shows each as a delete and apply deletes it (DeleteObjects).
  Keys the tool or another declaration owns are never stale: `.reconciler/`, another upload's keys, job
  output prefixes and the manifest key.
- *Foreign*: an object at a declared key without our sha256 metadata (someone else wrote it). Replacing
  it is shown as such in the plan and needs `--force` on apply (`foreign_keys`, engine/locked.py).

Cheap no-op plans, at any tree size:
- Local side: content hashes are cached in `.reconciler/hash-cache.json` beside the spec, keyed by
  path, size, mtime and inode, so an unchanged tree is not read again.
- Remote side: after each upload we write an index object (`.reconciler/uploads/<id>.json`) with each
  key's sha256 and the ETag S3 gave it. Reading is then one listing plus one GET: a listed object
  whose ETag and size still match the index has the indexed sha256 (the ETag serves only as "not
  rewritten since we recorded it"). Anything else falls back to HEAD and its sha256 metadata.
- The same (size, ETag) -> sha256 facts are also remembered locally (`.reconciler/remote-seen.json`),
  so on the machine that uploaded (or read the index once) a no-op read is the listing alone.
Both local caches are upload_cache.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from reconciler.aws.context import AwsContext, TransferSizes
from reconciler.aws.visible import read_listed
from reconciler.errors import AwsApiError, ReconcilerError
from reconciler.iam_statement import Statement
from reconciler.resources.base import (
    Account,
    AttrChange,
    Desired,
    Observed,
    ResourceKind,
    aws_error,
    delete_objects_checked,
    is_not_found,
)
from reconciler.resources.fields import Field
from reconciler.resources.upload_cache import CACHE_FILE, SEEN_FILE, HashCache, RemoteSeen, same_content_sha
from reconciler.spec import model
from reconciler.spec.model import Pipeline, Upload
from reconciler.spec.reserved import INTERNAL_PREFIX, UPLOAD_INDEX_PREFIX

HASH_META = "sha256"
# Multipart above 64 MiB in 16 MiB parts, 8 parts in flight: large raw files go up in parallel.
TRANSFER = TransferSizes(multipart_threshold=64 * 2**20, multipart_chunksize=16 * 2**20, max_concurrency=8)
FILE_CONCURRENCY = 8  # small files go up side by side
INDEX_PREFIX = UPLOAD_INDEX_PREFIX  # spec/reserved.py: validation keeps uploads off it


def index_key(name: str) -> str:
    return INDEX_PREFIX + hashlib.sha256(name.encode()).hexdigest()[:24] + ".json"


def local_files(upload: Upload) -> dict[str, Path]:
    """Object key -> local file for one upload entry, in a stable order.

    A symlink inside a directory upload that leads outside it is refused (unless the upload allows
    files outside the project): a link must not smuggle other files into the bucket."""
    if not upload.is_dir:
        return {upload.prefix + upload.source.name: upload.source}
    root_dir = upload.source.resolve()
    files: dict[str, Path] = {}
    for root, dirs, names in os.walk(upload.source):
        dirs.sort()
        for fname in sorted(names):
            path = Path(root) / fname
            if not path.is_file():
                continue
            if path.is_symlink() and not upload.allow_outside_project and not path.resolve().is_relative_to(root_dir):
                raise ReconcilerError(
                    f"{path} links outside the uploaded directory {upload.source_text} ({path.resolve()})",
                    hint="remove the link, or set allow_outside_project: true on this upload",
                )
            rel = path.relative_to(upload.source).as_posix()
            files[upload.prefix + rel] = path
    return files


def upload_name(upload: Upload) -> str:
    return upload.prefix if upload.is_dir else upload.prefix + upload.source.name


def _files_of(pipeline: Pipeline, name: str) -> dict[str, Path]:
    """The local files of the upload called `name` (recomputed: kinds keep no state between calls)."""
    upload = _upload_named(pipeline, name)
    return local_files(upload) if upload is not None else {}


def _upload_named(pipeline: Pipeline, name: str) -> Upload | None:
    return next((u for u in pipeline.uploads if upload_name(u) == name), None)


MAX_LISTED_KEYS = 5  # stale or foreign keys named in a plan note or an error; the rest are counted


def _not_ours_to_judge(pipeline: Pipeline, name: str) -> list[str]:
    """Key prefixes below the upload `name` that are someone else's business: the tool's internal prefix,
    other (nested) uploads, job output prefixes in this bucket, the manifest key."""
    bucket = f"s3://{pipeline.bucket.name}/"
    claimed = [INTERNAL_PREFIX] + [upload_name(u) for u in pipeline.uploads if upload_name(u) != name]
    for job in pipeline.jobs:
        output = dict(job.arguments).get("--output_path", "")
        if output.startswith(bucket):
            claimed.append(output[len(bucket) :])
    if pipeline.quicksight.manifest is not None:
        claimed.append(pipeline.quicksight.manifest.key)
    return [c for c in claimed if c]


def stale_of(pipeline: Pipeline, name: str, listed_keys: list[str], wanted: set[str]) -> list[str]:
    """Keys listed under the directory upload `name` that its source no longer has (sorted)."""
    upload = _upload_named(pipeline, name)
    if upload is None or not upload.is_dir:
        return []  # a file upload's "prefix" is its one key: nothing below it is ours
    claimed = _not_ours_to_judge(pipeline, name)
    return sorted(k for k in listed_keys if k not in wanted and not any(k.startswith(c) for c in claimed))


def first_keys(keys: list[str]) -> str:
    shown = ", ".join(keys[:MAX_LISTED_KEYS])
    return shown + (f" and {len(keys) - MAX_LISTED_KEYS} more" if len(keys) > MAX_LISTED_KEYS else "")


def stale_note(pipeline: Pipeline, upload: Upload, stale: list[str]) -> str:
    return (
        f"{len(stale)} object(s) under s3://{pipeline.bucket.name}/{upload.prefix} no longer exist in "
        f"{upload.source_text}: {first_keys(stale)}; they are left in place, and `reconcile run` refuses a quarter "
        "whose ingest folder holds them: delete them with prune: true on this upload, or accept them with "
        "`reconcile run --accept-stale`"
    )


def stale_keys(ctx: AwsContext, pipeline: Pipeline, prefix: str, *, pruned_too: bool = True) -> list[str]:
    """Objects under the key prefix `prefix` (a quarter's ingest folder) that a directory upload covering it
    no longer has locally; empty when no upload covers it (then we cannot know). `pruned_too=False` leaves
    out uploads with `prune: true` (the next apply deletes theirs). One listing per covering upload
    (ListObjectsV2, paginated)."""
    found: set[str] = set()
    for upload in pipeline.uploads:
        name = upload_name(upload)
        if not upload.is_dir or not prefix.startswith(name) or (upload.prune and not pruned_too):
            continue
        wanted = set(local_files(upload))
        try:
            listed = list(UploadKind._list(ctx, pipeline.bucket.name, prefix))
        except AwsApiError as exc:
            if is_not_found(exc):
                return []
            raise aws_error("listing", f"s3://{pipeline.bucket.name}/{prefix}", exc) from exc
        found.update(stale_of(pipeline, name, listed, wanted))
    return sorted(found)


def foreign_keys(changes: list[AttrChange], observed: Observed | None) -> list[str]:
    """Declared keys that an upload change would overwrite although we did not write them: the object exists
    and carries no sha256 metadata of ours."""
    if observed is None:
        return []
    objects = observed.attrs.get("objects") or {}
    keys = {c.keys[1] for c in changes if c.top == "objects" and len(c.keys) > 1 and c.after is not None}
    return sorted(k for k in keys if k in objects and objects[k].get("sha256") is None)


#: The attributes of an upload, stated once. Neither maps to one API field: see the notes.
FIELDS: tuple[Field, ...] = (
    Field("bucket", note="spec.bucket.name: where the objects go"),
    Field("objects", default={},
          note="key -> {sha256, size} of every local file (spec source and prefix); read from ListObjectsV2 and "
          "the sha256 object metadata (or our index object), written with PutObject / multipart uploads"),
)  # fmt: skip


class UploadKind(ResourceKind):
    kind: ClassVar[str] = "upload"
    level: ClassVar[int] = 1
    depends_on: ClassVar[frozenset[str]] = frozenset({"bucket"})
    fields: ClassVar[tuple[Field, ...]] = FIELDS
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "uploads")
    spec_model: ClassVar[type | None] = model.Upload
    tagging_type: ClassVar[str | None] = None  # objects of the bucket: listed with ListObjectsV2
    runs: ClassVar[bool] = False

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        return []  # the objects: BucketKind's PipelineObjects

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        return []  # the job reads its script with BucketKind's ReadPipelineObjects

    def __init__(self) -> None:
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self.cache: HashCache | None = None
        self._seen: RemoteSeen | None = None

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        self.cache = HashCache(pipeline.spec_file.parent / ".reconciler" / CACHE_FILE)
        out = []
        for upload in pipeline.uploads:
            files = local_files(upload)
            name = upload_name(upload)
            digests = self.cache.sha256_many(list(files.values()))
            objects = {key: {"sha256": digests[path], "size": path.stat().st_size} for key, path in files.items()}
            out.append(Desired(self.kind, name, {"bucket": pipeline.bucket.name, "objects": objects}))
        self.cache.save()
        return out

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        bucket = pipeline.bucket.name
        files = _files_of(pipeline, name)
        wanted = set(files)
        objects: dict[str, Any] = {}
        try:
            listed = self._list(ctx, bucket, name)
        except AwsApiError as exc:
            if is_not_found(exc):
                return None  # no bucket yet: everything is to be uploaded
            raise aws_error("listing", f"s3://{bucket}/{name}", exc) from exc
        seen = self.seen(ctx, pipeline)
        upload = _upload_named(pipeline, name)
        stale = stale_of(pipeline, name, list(listed), wanted)
        notes: tuple[str, ...] = ()
        if stale and upload is not None and upload.prune:
            # Observed but not desired: the diff plans each as a delete (`update` deletes them).
            objects.update({key: {"sha256": None, "size": listed[key][0]} for key in stale})
        elif stale and upload is not None:
            notes = (stale_note(pipeline, upload, stale),)
        index: dict[str, dict[str, Any]] | None = None  # fetched only if some object is not known locally
        for key, (size, etag) in listed.items():
            if key not in wanted:
                continue  # stale (above) or not ours to judge
            sha = seen.sha256(bucket, key, size, etag)
            if sha is None:
                index = self._read_index(ctx, bucket, name) if index is None else index
                known = index.get(key)
                if known is not None and known.get("etag") == etag and known.get("size") == size:
                    sha = str(known["sha256"])
                else:
                    # listed a moment ago, so a 404 is versioning's window (aws/visible.py)
                    head = read_listed(ctx, bucket, key, operation="head_object", doing="reading the metadata of") or {}
                    sha = head.get("Metadata", {}).get(HASH_META) or same_content_sha(self.cache, files[key], etag)
                if sha is not None:
                    seen.record(bucket, key, size, etag, sha)
            objects[key] = {"sha256": sha, "size": size}
        seen.save()
        foreign = sorted(k for k, meta in objects.items() if k in wanted and meta["sha256"] is None)
        if foreign:
            notes += (
                f"replaces {len(foreign)} foreign object(s), not uploaded by this tool (no sha256 metadata of ours): "
                f"{first_keys(foreign)}; apply replaces them only with --force",
            )
        # Uploads live inside the bucket; the bucket's ownership is what guards them.
        return Observed({"bucket": bucket, "objects": objects}, pipeline.ownership_tags, notes)

    def seen(self, ctx: AwsContext, pipeline: Pipeline) -> RemoteSeen:
        with self._lock:
            if self._seen is None:
                self._seen = RemoteSeen(
                    pipeline.spec_file.parent / ".reconciler" / SEEN_FILE, ctx.custom_endpoint("s3")
                )
            return self._seen

    @staticmethod
    def _list(ctx: AwsContext, bucket: str, prefix: str) -> dict[str, tuple[int, str]]:
        listed: dict[str, tuple[int, str]] = {}
        for page in ctx.pages("s3", "list_objects_v2", Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                listed[obj["Key"]] = (int(obj["Size"]), str(obj.get("ETag", "")))
        return listed

    @staticmethod
    def _read_index(ctx: AwsContext, bucket: str, name: str) -> dict[str, dict[str, Any]]:
        try:
            answer = read_listed(ctx, bucket, index_key(name), doing="reading the upload index")
            loaded = json.loads(answer["Body"].read()) if answer is not None else {}
        except (AwsApiError, ValueError):
            return {}  # no index yet, or unreadable: HEAD tells the truth
        objects = loaded.get("objects") if isinstance(loaded, dict) else None
        return objects if isinstance(objects, dict) else {}

    def _write_index(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        """Record what we sent, with the ETags S3 gave it (one listing after the uploads)."""
        bucket = desired.attrs["bucket"]
        listed = self._list(ctx, bucket, desired.name)
        objects = {
            key: {"sha256": meta["sha256"], "size": listed[key][0], "etag": listed[key][1]}
            for key, meta in desired.attrs["objects"].items()
            if key in listed and listed[key][0] == meta["size"]
        }
        body = json.dumps({"name": desired.name, "objects": objects}, sort_keys=True).encode()
        ctx.call("s3", "put_object", Bucket=bucket, Key=index_key(desired.name), Body=body,
                 ContentType="application/json")  # fmt: skip
        seen = self.seen(ctx, pipeline)
        for key, entry in objects.items():
            seen.record(bucket, key, entry["size"], entry["etag"], entry["sha256"])
        seen.save()

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        return []  # uploads go with their bucket; never deleted one by one

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        self._send(ctx, desired, list(desired.attrs["objects"]), pipeline)

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        keys = sorted({c.keys[1] for c in changes if c.top == "objects" and len(c.keys) > 1 and c.after})
        # Observed and not desired: a stale object of an upload with prune: true (read() reports them only then).
        gone = sorted({c.keys[1] for c in changes if c.top == "objects" and len(c.keys) == 2 and c.after is None})
        upload = _upload_named(pipeline, desired.name)
        if gone and upload is not None and upload.prune:
            delete_objects_checked(ctx, desired.attrs["bucket"], [{"Key": key} for key in gone])
        if keys:
            self._send(ctx, desired, keys, pipeline)

    def _send(self, ctx: AwsContext, desired: Desired, keys: list[str], pipeline: Pipeline) -> None:
        files = _files_of(pipeline, desired.name)
        bucket = desired.attrs["bucket"]

        def send_one(key: str) -> None:
            path = files[key]
            try:
                transfer.upload_file(
                    str(path), bucket, key, metadata={HASH_META: desired.attrs["objects"][key]["sha256"]},
                    callback=lambda n: self._on_bytes(ctx, desired.name, n),
                )  # fmt: skip
            except AwsApiError as exc:
                raise aws_error("uploading", f"{path} to s3://{bucket}/{key}", exc) from exc

        # One transfer manager for every file of this upload (AwsContext.s3_uploads).
        with ctx.s3_uploads(TRANSFER) as transfer, ThreadPoolExecutor(FILE_CONCURRENCY) as pool:
            list(pool.map(send_one, keys))
        self._write_index(ctx, desired, pipeline)

    def _on_bytes(self, ctx: AwsContext, name: str, n: int) -> None:
        with self._lock:
            self.bytes_sent += n
        if ctx.on_upload_bytes is not None:
            ctx.on_upload_bytes(name, n)

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        return None  # see list_owned
