"""The endpoint's own S3, in-process: moto's S3 backend, read and written without HTTP.

Crawls and job runs use this to list, read (the head of) and write objects in the same S3 that clients
see through the endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconciler_local.moto_api import FakeKey, MissingBucket, S3Backend, s3_backends

READ_CHUNK = 8 * 1024 * 1024


class S3Error(Exception):
    pass


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def split_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    if not uri.startswith("s3://"):
        raise S3Error(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise S3Error(f"no bucket in {uri}")
    return bucket, key


class S3Store:
    def __init__(self, account_id: str, partition: str = "aws") -> None:
        self.account_id = account_id
        self.partition = partition

    @property
    def backend(self) -> S3Backend:
        return s3_backends[self.account_id][self.partition]

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.backend.get_bucket(bucket)
        except MissingBucket:
            return False
        return True

    def _bucket(self, bucket: str) -> Any:
        try:
            return self.backend.get_bucket(bucket)
        except MissingBucket as error:
            raise S3Error(f"The specified bucket does not exist: {bucket}") from error

    def list(self, bucket: str, prefix: str) -> list[S3Object]:
        """Every current object under `prefix` (no delimiter: the whole tree), sorted by key."""
        fake_bucket = self._bucket(bucket)
        keys, _, _, _ = self.backend.list_objects(fake_bucket, prefix or None, None, None, None)
        return [
            S3Object(bucket, key.name, int(key.size), str(key.etag).strip('"'), key.last_modified)
            for key in keys
        ]

    def _key(self, bucket: str, key: str) -> FakeKey:
        found = self.backend.get_object(bucket, key)
        if not isinstance(found, FakeKey):
            raise S3Error(f"no such object: s3://{bucket}/{key}")
        return found

    def read_head(self, bucket: str, key: str, limit: int) -> tuple[bytes, bool]:
        """Up to `limit` bytes from the start of the object, and whether that is the whole object."""
        fake_key = self._key(bucket, key)
        buffer = getattr(fake_key, "_value_buffer", None)
        if buffer is None:  # pragma: no cover - moto changed its storage: fall back to a full read
            value = fake_key.value
            return value[:limit], len(value) <= limit
        with fake_key.lock:
            buffer.seek(0)
            head: bytes = buffer.read(limit + 1)
        return head[:limit], len(head) <= limit

    def iter_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        fake_key = self._key(bucket, key)
        buffer = getattr(fake_key, "_value_buffer", None)
        if buffer is None:  # pragma: no cover
            yield fake_key.value
            return
        offset = 0
        while True:
            with fake_key.lock:
                buffer.seek(offset)
                chunk: bytes = buffer.read(READ_CHUNK)
            if not chunk:
                return
            offset += len(chunk)
            yield chunk

    def read(self, bucket: str, key: str) -> bytes:
        return self._key(bucket, key).value

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self._bucket(bucket)
        self.backend.put_object(bucket, key, data)

    def delete(self, bucket: str, key: str) -> None:
        self.backend.delete_object(bucket, key)

    def declare_size(self, bucket: str, key: str, size: int) -> None:
        """Test-only: the object's `Size` in ListObjectsV2 and `Content-Length` in HeadObject become `size`,
        as for an object of that many bytes (moto reports both from FakeKey.contentsize), without storing them.
        Its stored bytes stay what was put: a GetObject of it is not modelled (nothing of ours reads one), and
        the declaration does not survive a restart (a restored key recounts its bytes)."""
        if size < 0:
            raise S3Error(f"a size is never negative: {size}")
        fake_key = self._key(bucket, key)
        with fake_key.lock:
            fake_key.contentsize = size


def store_with_bucket(bucket: str, partition: str = "aws") -> S3Store:
    """The S3Store of the account that owns `bucket` (the endpoint serves every account a client signs as)."""
    for account_id in list(s3_backends.keys()):
        store = S3Store(account_id, partition)
        if store.bucket_exists(bucket):
            return store
    raise S3Error(f"The specified bucket does not exist: {bucket}")
