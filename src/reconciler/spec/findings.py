"""What a spec check reports (`Finding`: a path in the document and a message), and the small readers every
check uses on a document that may be partly invalid (they skip values of the wrong type: the schema has
reported those)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

DocPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """A problem at a path in the document; `at_key` points at the key itself (e.g. an unknown key)."""

    path: DocPath
    message: str
    at_key: bool = False


TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def describe(value: Any) -> str:
    """A short description of a value for messages: 'abc', 5, true, a list, a mapping, an empty value."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:60]) + "..."
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def did_you_mean(word: str, choices: list[str]) -> str:
    if len(word) > 64:  # difflib is quadratic; long keys are never typos of ours
        return ""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def as_mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items_of(value: Any) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def text_at(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def located(path: DocPath, messages: list[str], at_key: bool = False) -> list[Finding]:
    return [Finding(path, message, at_key) for message in messages]
