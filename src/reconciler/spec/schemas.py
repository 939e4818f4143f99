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


#: The schema of pipeline.yaml; its "default" keywords are the spec's defaults, stated nowhere else.
PIPELINE_SCHEMA = "pipeline.v1.json"


def _resolved(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    """`node` with a local "$ref" (#/$defs/...) followed; its own keys win over the target's."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return node
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    return {**_resolved(target, root), **{k: v for k, v in node.items() if k != "$ref"}}


def fill_defaults(document: Any, filename: str = PIPELINE_SCHEMA) -> Any:
    """Fill every absent property that has a "default" in the schema, in place, at any depth (an absent
    object whose default is {} is created and then filled in turn). Values of the wrong type are left alone,
    so this is safe on a document that failed validation. Returns the document."""
    root = load_schema(filename)

    def walk(node: dict[str, Any], value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in node.get("properties", {}).items():
                sub = _resolved(sub, root)
                if key not in value and "default" in sub:
                    value[key] = json.loads(json.dumps(sub["default"]))
                if key in value:
                    walk(sub, value[key])
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            items = _resolved(node["items"], root)
            for item in value:
                walk(items, item)

    walk(root, document)
    return document


def default_at(*path: str, filename: str = PIPELINE_SCHEMA) -> Any:
    """The schema's default of the property at `path` (property names; list items are stepped into), e.g.
    default_at("spec", "jobs", "glue_version") == "5.0". For model dataclasses, so they restate nothing."""
    root = load_schema(filename)
    node = root
    for key in path:
        while node.get("type") == "array" and isinstance(node.get("items"), dict):
            node = _resolved(node["items"], root)
        node = _resolved(node.get("properties", {}).get(key), root)
    if "default" not in node:
        raise KeyError(f"the schema {filename} declares no default at {'.'.join(path)}")
    return json.loads(json.dumps(node["default"]))
