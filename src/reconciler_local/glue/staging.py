"""s3:// job arguments served from the endpoint's S3: staged into a local directory, mirrored back.

Every argument value of the form `s3://bucket/prefix` is staged: every object under the prefix is copied
to `<root>/<bucket>/<prefix>` and the argument is rewritten to that local path (a folder keeps its
trailing `/`). A prefix that holds no object yet (an output location) becomes an empty folder. After the
script ran, each staged folder is mirrored back: new and changed files are uploaded, objects whose local
file was removed are deleted. Local-filesystem artefacts that never exist on S3 (Hadoop's `.crc`
checksum files, `_temporary/` folders of an unfinished commit) are not uploaded. A comma-separated list
of s3:// values (as in `--extra-py-files`) is staged element by element.
Every S3 access is first passed to `check` (the job role's policies with `enforce_role_policies`, see
`roles.py`): s3:ListBucket per staged prefix, s3:GetObject per object staged, s3:PutObject per file
mirrored back and s3:DeleteObject per object deleted; a denial raises `roles.AccessDenied`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from reconciler_local.roles import Check, no_check, s3_arn
from reconciler_local.s3store import S3Store, split_uri

#: JSON files up to this size are checked for staged local paths (the job's reports are a few KiB)
JSON_REWRITE_LIMIT = 1 << 20


@dataclass
class StagedPrefix:
    bucket: str
    prefix: str  # "" for a whole bucket; ends with "/" for a folder
    local: Path
    is_file: bool
    downloaded: dict[str, str] = field(default_factory=dict)  # local relative path -> sha256


@dataclass
class MirrorResult:
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _skipped(relative: str) -> bool:
    parts = relative.split("/")
    return parts[-1].endswith(".crc") or "_temporary" in parts or parts[-1].startswith(".")


class Stager:
    def __init__(self, store: S3Store, root: Path, check: Check = no_check) -> None:
        self.store = store
        self.root = root
        self.check = check
        self.staged: list[StagedPrefix] = []

    def local_path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def stage_value(self, value: str) -> str:
        """The local replacement for an argument value (unchanged when it holds no s3:// URI)."""
        if "," in value and all(part.strip().startswith("s3://") for part in value.split(",")):
            return ",".join(self.stage_uri(part.strip()) for part in value.split(","))
        if value.startswith("s3://"):
            return self.stage_uri(value)
        return value

    def stage_uri(self, uri: str) -> str:
        bucket, key = split_uri(uri)
        self.check("s3:ListBucket", s3_arn(bucket))
        objects = self.store.list(bucket, key)
        is_file = bool(key) and not key.endswith("/") and any(obj.key == key for obj in objects)
        if is_file:
            local = self.local_path(bucket, key)
            staged = StagedPrefix(bucket, key, local, True)
            self._download(bucket, key, local, staged, key.rsplit("/", 1)[-1])
            self.staged.append(staged)
            return str(local)
        folder = key if not key or key.endswith("/") else key + "/"
        local = self.local_path(bucket, folder)
        local.mkdir(parents=True, exist_ok=True)
        staged = StagedPrefix(bucket, folder, local, False)
        for obj in objects:
            if not obj.key.startswith(folder) or obj.key.endswith("/"):
                continue
            relative = obj.key[len(folder) :]
            self._download(bucket, obj.key, local / relative, staged, relative)
        self.staged.append(staged)
        return str(local) + "/"

    def _download(self, bucket: str, key: str, target: Path, staged: StagedPrefix, relative: str) -> None:
        self.check("s3:GetObject", s3_arn(bucket, key))
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with open(target, "wb") as handle:
            for chunk in self.store.iter_chunks(bucket, key):
                handle.write(chunk)
                digest.update(chunk)
        staged.downloaded[relative] = digest.hexdigest()

    def _as_written_on_s3(self, path: Path) -> bytes:
        """A file's bytes for S3. In a small JSON file (the job's report) a staged local path is written back as
        the s3:// URI it stands for: on Glue the job sees s3:// arguments and reports them as such, and a report
        naming this endpoint's staging folders (gone after the run) would send a reader nowhere."""
        data = path.read_bytes()
        if path.suffix != ".json" or len(data) > JSON_REWRITE_LIMIT:
            return data
        text = data.decode("utf-8", errors="surrogateescape")
        for staged in sorted(self.staged, key=lambda s: len(str(s.local)), reverse=True):  # the longest first
            local = str(staged.local) + ("" if staged.is_file else "/")
            text = text.replace(local, f"s3://{staged.bucket}/{staged.prefix}")
            if not staged.is_file:  # the folder named without its trailing slash
                text = text.replace(f'"{staged.local}"', f'"s3://{staged.bucket}/{staged.prefix.rstrip("/")}"')
        return text.encode("utf-8", errors="surrogateescape")

    def mirror_back(self) -> MirrorResult:
        """Upload new and changed files of every staged folder; delete objects whose file was removed."""
        result = MirrorResult()
        done: set[tuple[str, str]] = set()
        for staged in self.staged:
            if staged.is_file:
                continue
            present: dict[str, Path] = {}
            if staged.local.exists():
                for directory, _, files in os.walk(staged.local):
                    for name in files:
                        path = Path(directory) / name
                        relative = path.relative_to(staged.local).as_posix()
                        if not _skipped(relative):
                            present[relative] = path
            for relative, path in sorted(present.items()):
                key = staged.prefix + relative
                if (staged.bucket, key) in done:
                    continue
                done.add((staged.bucket, key))
                if staged.downloaded.get(relative) == _sha256(path):
                    continue
                self.check("s3:PutObject", s3_arn(staged.bucket, key))
                self.store.put(staged.bucket, key, self._as_written_on_s3(path))
                result.uploaded.append(f"s3://{staged.bucket}/{key}")
            for relative in sorted(set(staged.downloaded) - set(present)):
                key = staged.prefix + relative
                if (staged.bucket, key) in done or _skipped(relative):
                    continue
                done.add((staged.bucket, key))
                self.check("s3:DeleteObject", s3_arn(staged.bucket, key))
                self.store.delete(staged.bucket, key)
                result.deleted.append(f"s3://{staged.bucket}/{key}")
        return result
