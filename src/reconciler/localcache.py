"""The small JSON caches kept beside the spec in `.reconciler/`: never needed for correctness, so a
missing, unreadable or unwritable file only costs time."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def read_json_dict(path: Path) -> dict[str, Any]:
    """The cached mapping, or {} when the file is missing or not a JSON object."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


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
