"""The small JSON caches kept beside the spec in `.reconciler/`: never needed for correctness, so a
missing, unreadable or unwritable file only costs time.

They heal themselves: a file that is not a JSON object is read as empty, and an entry of the wrong shape
(ENTRY_SHAPES, per cache file) is dropped when read, so its user recomputes it and the next write replaces
it. A damaged cache is never an error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _is_hash_entry(entry: Any) -> bool:
    """hash-cache.json (resources/upload_cache.py HashCache): {"stamp": [size, mtime_ns, inode], "sha256": hex}."""
    return (
        isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and isinstance(entry.get("stamp"), list)
    )


def _is_seen_entry(entry: Any) -> bool:
    """remote-seen.json (resources/upload_cache.py RemoteSeen): [size, etag, sha256]."""
    return isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], str)


def _is_schema_pass(entry: Any) -> bool:
    """schema-passed.json (spec/load.py _SchemaPasses): [[document path, coerced value], ...]."""
    return isinstance(entry, list) and all(
        isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], list) for pair in entry
    )


#: What one entry of each cache file looks like; entries of another shape are dropped on reading.
ENTRY_SHAPES: dict[str, Callable[[Any], bool]] = {
    "hash-cache.json": _is_hash_entry,
    "remote-seen.json": _is_seen_entry,
    "schema-passed.json": _is_schema_pass,
}


def read_json_dict(path: Path) -> dict[str, Any]:
    """The cached mapping, or {} when the file is missing or not a JSON object; without the entries whose
    shape is wrong for this cache file (ENTRY_SHAPES), so a damaged entry is recomputed, never an error."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    shape = ENTRY_SHAPES.get(path.name)
    return loaded if shape is None else {k: v for k, v in loaded.items() if shape(v)}


def write_json_atomic(path: Path, data: Any) -> bool:
    """Write via a per-process temporary file and rename, so readers never see half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        return False
    return True
