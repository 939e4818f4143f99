"""The keys this tool writes in the pipeline's bucket itself: stated here once, read by the code that writes
them (aws/lock.py, resources/upload.py, quarterly/pointer.py, resources/bucket.py) and by validation, which
refuses any upload, job argument or crawler target that would write or read them as data.

    .reconciler/                          everything internal: the lock, its serial, the upload indexes
    .reconciler/lock.json                 the pipeline lock (aws/lock.py)
    .reconciler/lock.serial               the lock's serial (aws/lock.py)
    .reconciler/uploads/<id>.json         the sha256 index of an upload (resources/upload.py)
    <output_path>_published.json          the publish pointer (quarterly/pointer.py), per output path
    <output_path>runs/                    the run prefixes: only the job's own runs write below it
    spec.quicksight.manifest.key          the QuickSight manifest, derived from the pointer

Pure: no boto3 and no imports from the rest of the tool, so the spec layer can read it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

INTERNAL_PREFIX = ".reconciler/"
LOCK_KEY = INTERNAL_PREFIX + "lock.json"
SERIAL_KEY = INTERNAL_PREFIX + "lock.serial"
LOCK_FAMILY = INTERNAL_PREFIX + "lock"  # one listing shows both the lock and the serial
UPLOAD_INDEX_PREFIX = INTERNAL_PREFIX + "uploads/"
POINTER = "_published.json"  # below each output path
RUNS = "runs/"  # below each output path: <output_path>runs/<run_id>/


@dataclass(frozen=True)
class Reserved:
    """One reserved key (`prefix` False) or key prefix (`prefix` True) and why it is reserved."""

    key: str
    prefix: bool
    why: str
    #: the tool rewrites it itself (the run prefixes are the job's to write)
    tool_writes: bool = True
    #: what it is: "internal", "pointer", "runs" or "manifest"
    kind: str = "internal"

    def covers(self, key: str) -> bool:
        """`key` (an object key) is this key or lies below this prefix."""
        return key.startswith(self.key) if self.prefix else key == self.key

    def overlaps_prefix(self, prefix: str) -> bool:
        """Objects below the key prefix `prefix` can be this key (or lie below this prefix), or `prefix`
        lies below it."""
        return self.key.startswith(prefix) or (self.prefix and prefix.startswith(self.key))


class ReservedIndex:
    """The reserved keys sorted, so that a spec with hundreds of job outputs (a pointer and a run prefix each)
    is checked in O(log n) per key instead of against every entry."""

    def __init__(self, entries: Iterable[Reserved]) -> None:
        self.entries = sorted(entries, key=lambda r: r.key)
        self._keys = [r.key for r in self.entries]
        self._prefixes: dict[str, list[Reserved]] = {}
        for r in self.entries:
            if r.prefix:
                self._prefixes.setdefault(r.key, []).append(r)

    def _below(self, prefix: str) -> list[Reserved]:
        """Entries whose key starts with `prefix`."""
        start = bisect.bisect_left(self._keys, prefix)
        end = bisect.bisect_left(self._keys, prefix + "\U0010ffff")
        return self.entries[start:end]

    def _above(self, key: str) -> list[Reserved]:
        """Prefix entries `key` lies strictly below (reserved prefixes end with '/')."""
        found: list[Reserved] = []
        for end in range(len(key)):
            if key[end] == "/" and end + 1 < len(key):
                found += self._prefixes.get(key[: end + 1], [])
        return found

    def covering(self, key: str) -> list[Reserved]:
        """The entries `Reserved.covers` is true of for the object key `key`."""
        exact = [r for r in self._below(key) if r.key == key]
        return exact + [r for r in self._above(key) if r not in exact]

    def overlapping(self, prefix: str) -> list[Reserved]:
        """The entries `Reserved.overlaps_prefix` is true of for the key prefix `prefix`."""
        below = self._below(prefix)
        return below + [r for r in self._above(prefix) if r not in below]


def pointer_key(output_prefix: str) -> str:
    return output_prefix + POINTER


def runs_prefix(output_prefix: str) -> str:
    return output_prefix + RUNS


def reserved_keys(output_prefixes: Iterable[str], manifest_key: str | None) -> list[Reserved]:
    """Every key and key prefix of the tool's own in the bucket, for these job output prefixes (keys, e.g.
    "prepared/") and this manifest key."""
    found = [Reserved(INTERNAL_PREFIX, True, "the tool's internal prefix (lock, lock serial, upload indexes)")]
    for prefix in sorted(set(output_prefixes)):
        why = f"the publish pointer of the job output {prefix!r}"
        found.append(Reserved(pointer_key(prefix), False, why, kind="pointer"))
        why = f"the run prefixes of the job output {prefix!r}"
        found.append(Reserved(runs_prefix(prefix), True, why, tool_writes=False, kind="runs"))
    if manifest_key:
        why = "the QuickSight manifest (spec.quicksight.manifest.key)"
        found.append(Reserved(manifest_key, False, why, kind="manifest"))
    return found


def internal_keys(output_prefixes: Iterable[str], manifest_key: str | None) -> list[str]:
    """The keys (prefixes) the tool itself rewrites: the internal prefix, the pointers and the manifest (not the
    run prefixes, which the job writes)."""
    return sorted(r.key for r in reserved_keys(output_prefixes, manifest_key) if r.tool_writes)
