"""What an upload remembers to keep no-op plans cheap at any tree size: the local files' sha256 by (path, size,
mtime, inode) in `.reconciler/hash-cache.json` (`HashCache`), and the objects' sha256 as last confirmed, valid
while the listing shows the same size and ETag, in `.reconciler/remote-seen.json` (`RemoteSeen`). Apart from the
upload kind (upload.py) because both are local files with their own invalidation rules, not AWS calls.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from reconciler.localcache import read_json_dict, write_json_atomic

CACHE_FILE = "hash-cache.json"
HASH_THREADS = min(4, os.cpu_count() or 1)
SEEN_FILE = "remote-seen.json"


class HashCache:
    """sha256 of local files, remembered by (path, size, mtime_ns, inode)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False
        self.hits = 0
        self.misses = 0
        self.entries = read_json_dict(path)

    def sha256(self, file: Path) -> str:
        return self.sha256_many([file])[file]

    def sha256_many(self, files: list[Path]) -> dict[Path, str]:
        """Cached where size, mtime and inode still match; the rest hashed on several threads
        (hashlib releases the GIL, so cold hashing of a big tree uses every core)."""
        known: dict[Path, str] = {}
        todo: list[tuple[Path, list[int]]] = []
        for file in files:
            st = file.stat()
            stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
            entry = self.entries.get(str(file))
            if entry is not None and entry.get("stamp") == stamp:
                known[file] = str(entry["sha256"])
            else:
                todo.append((file, stamp))
        self.hits += len(known)
        self.misses += len(todo)
        if todo:
            workers = min(HASH_THREADS, len(todo))
            with ThreadPoolExecutor(workers) as pool:
                digests = list(pool.map(sha256_file, [f for f, _ in todo]))
            for (file, stamp), digest in zip(todo, digests, strict=True):
                self.entries[str(file)] = {"stamp": stamp, "sha256": digest}
                known[file] = digest
            self.dirty = True
        return known

    def save(self) -> None:
        if self.dirty and write_json_atomic(self.path, self.entries):
            self.dirty = False


class RemoteSeen:
    """sha256 of objects as we last confirmed them, per (endpoint, bucket, key), valid only while the
    listing still shows the same size and ETag (a rewrite gets a new ETag, also under SSE-KMS)."""

    def __init__(self, path: Path, endpoint: str | None) -> None:
        self.path = path
        self.endpoint = endpoint or "aws"
        self.entries: dict[str, list[Any]] = {}
        self.dirty = False
        self._lock = threading.Lock()
        self.entries = read_json_dict(path)

    def _key(self, bucket: str, key: str) -> str:
        return f"{self.endpoint}|{bucket}|{key}"

    def sha256(self, bucket: str, key: str, size: int, etag: str) -> str | None:
        entry = self.entries.get(self._key(bucket, key))
        if isinstance(entry, list) and len(entry) == 3 and entry[0] == size and entry[1] == etag:
            return str(entry[2])
        return None

    def record(self, bucket: str, key: str, size: int, etag: str, sha256: str) -> None:
        with self._lock:
            if self.entries.get(self._key(bucket, key)) != [size, etag, sha256]:
                self.entries[self._key(bucket, key)] = [size, etag, sha256]
                self.dirty = True

    def save(self) -> None:
        with self._lock:
            if self.dirty and write_json_atomic(self.path, self.entries):
                self.dirty = False


def sha256_file(path: Path, chunk: int = 2**20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def same_content_sha(cache: HashCache | None, path: Path, etag: str) -> str | None:
    """The local file's sha256 when the object provably holds the same bytes though it has no sha256 metadata of
    ours (written by hand, e.g. a console-built job script that `reconcile import` declared an upload for): its
    ETag is the local file's MD5. S3 gives "Objects created by the PUT Object, POST Object, or Copy operation, or
    through the AWS Management Console, and are encrypted by SSE-S3 or plaintext, ETags that are an MD5 digest of
    their object data" (Amazon S3 API reference, Object, ETag); a multipart, SSE-KMS or SSE-C ETag is no MD5 and
    simply does not match, so such an object stays foreign. Equal bytes are not foreign: replacing them would
    change nothing (a pipeline imported with `reconcile import`, docs/import.md)."""
    digest = etag.strip('"')
    if not re.fullmatch(r"[0-9a-f]{32}", digest) or cache is None:
        return None
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            md5.update(block)
    return cache.sha256(path) if md5.hexdigest() == digest else None
