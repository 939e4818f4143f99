"""Locate the JSON Schemas in `schema/`: inside the wheel (reconciler/_schema) or the source checkout."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGED = Path(__file__).parents[1] / "_schema"
_CHECKOUT = Path(__file__).resolve().parents[3] / "schema"


@cache
def load_schema(filename: str) -> dict[str, Any]:
    """Return the parsed schema `filename` (e.g. "pipeline.v1.json")."""
    for folder in (_PACKAGED, _CHECKOUT):
        candidate = folder / filename
        if candidate.is_file():
            loaded: dict[str, Any] = json.loads(candidate.read_text(encoding="utf-8"))
            return loaded
    raise FileNotFoundError(f"schema {filename} not found in {_PACKAGED} or {_CHECKOUT}")
