"""Load pipeline.yaml: read, parse with line/column marks, interpolate ${VAR} (spec/parse.py), validate
(spec/checks.py), build `model.Pipeline` (spec/build.py).

Every problem is collected and reported at once as a `SpecError`, each located at file:line:column with its
path in the document (e.g. spec.crawlers[0].schedule). Hostile input (alias bombs, deep nesting, huge files,
odd tags) ends in a located problem, never in a traceback or a hang.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.errors import Problem, SpecError
from reconciler.localcache import read_json_dict, write_json_atomic
from reconciler.spec import model
from reconciler.spec.build import build
from reconciler.spec.checks import (
    DocPath,
    Finding,
    describe,
    schema_findings,
    schema_type_errors,
    semantic_findings,
)
from reconciler.spec.literal_secrets import literal_secret_findings
from reconciler.spec.notify_checks import notify_env_findings
from reconciler.spec.parse import Document, Stop, format_path, interpolate, parse, read_text
from reconciler.spec.schemas import fill_defaults

__all__ = ["format_path", "interpolate", "load_spec", "validate_file"]

# --- steps 3-5: version, schema, semantics -----------------------------------------------------------------


def _locate(doc: Document, finding: Finding, file: str) -> Problem:
    """Place a finding at its key or value; a missing path is placed at its nearest written ancestor's key."""
    path = finding.path
    mark = doc.key_marks.get(path) if finding.at_key else None
    mark = mark or doc.marks.get(path)
    ancestor = path
    while mark is None and ancestor:
        ancestor = ancestor[:-1]
        mark = doc.key_marks.get(ancestor) or doc.marks.get(ancestor)
    line, column = mark or (1, 1)
    return Problem(file, line, column, format_path(path), finding.message)


def _check_version(doc: Any) -> tuple[list[Finding], bool]:
    """(findings, whether to go on). apiVersion decides which schema applies, so it comes first."""
    supported = ", ".join(model.SUPPORTED_API_VERSIONS)
    if not isinstance(doc, dict):
        message = f"the document must be a mapping with apiVersion, kind, metadata and spec (got {describe(doc)})"
        return [Finding((), message)], False
    if "apiVersion" not in doc:
        return [Finding(("apiVersion",), f"is required; supported versions: {supported}")], True
    version = doc["apiVersion"]
    if version not in model.SUPPORTED_API_VERSIONS:
        return [Finding(("apiVersion",), f"unsupported version {describe(version)}; supported: {supported}")], False
    return [], True


def _set_at(root: Any, path: DocPath, value: Any) -> None:
    target = root
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def _coerce(text: str, expected: list[str]) -> tuple[bool, Any]:
    """Convert an interpolated string to what the schema expects: "4" -> 4, "true" -> True."""
    if "integer" in expected and re.fullmatch(r"[-+]?\d{1,18}", text.strip()):
        return True, int(text)
    if "boolean" in expected and text.strip().lower() in ("true", "false"):
        return True, text.strip().lower() == "true"
    return False, None


def _coerce_interpolated(doc: Document) -> list[tuple[DocPath, Any]]:
    """${VAR} always yields text; where the schema wants a number or true/false, convert it once."""
    if not doc.interpolated:
        return []
    done: list[tuple[DocPath, Any]] = []
    for path, expected in list(schema_type_errors(doc.value)):
        if path not in doc.interpolated:
            continue
        current: Any = doc.value
        for part in path:
            current = current[part]
        if isinstance(current, str):
            ok, converted = _coerce(current, expected)
            if ok:
                _set_at(doc.value, path, converted)
                done.append((path, converted))
    return done


class _SchemaPasses:
    """Documents that passed the JSON Schema before, remembered beside the spec
    (`.reconciler/schema-passed.json`): checking one again would give the same answer, and skipping it
    spares every command the JSON Schema library's import (~0.1 s). The key covers the document after
    ${VAR} interpolation, which paths were interpolated, the schema file and our version; only passes
    are remembered, so every problem is always found afresh. Semantic checks always run."""

    LIMIT = 32

    def __init__(self, project_dir: Path) -> None:
        self.path = project_dir / ".reconciler" / "schema-passed.json"

    @staticmethod
    def key(doc: Document) -> str:
        from importlib.metadata import PackageNotFoundError, version

        from reconciler.spec.checks import SCHEMA_FILE
        from reconciler.spec.schemas import load_schema

        try:
            ours = version("pipeline-reconciler")
        except PackageNotFoundError:
            ours = "unknown"
        material = [doc.value, sorted(map(list, doc.interpolated)), load_schema(SCHEMA_FILE), ours]
        return _canonical_sha256(json.loads(json.dumps(material, default=str)))

    def _entries(self) -> dict[str, Any]:
        return read_json_dict(self.path)

    def coercions(self, key: str) -> list[tuple[DocPath, Any]] | None:
        entry = self._entries().get(key)
        if not isinstance(entry, list):
            return None
        return [(tuple(path), value) for path, value in entry]

    def remember(self, key: str, coerced: list[tuple[DocPath, Any]]) -> None:
        entries = self._entries()
        entries.pop(key, None)
        entries[key] = [[list(path), value] for path, value in coerced]
        write_json_atomic(self.path, dict(list(entries.items())[-self.LIMIT :]))  # failing only costs time


def _without(value: Any, unknown: set[DocPath]) -> Any:
    """A copy with unknown values (a missing variable, an unreadable scalar) set to None.

    The semantic checks skip None, so e.g. a bucket name left empty by a missing variable does not also make
    every crawler target "outside the declared bucket".
    """
    if not unknown:
        return value
    copy = json.loads(json.dumps(value))
    for path in unknown:
        if path:
            try:
                _set_at(copy, path, None)
            except (KeyError, IndexError, TypeError):
                continue  # the value was dropped, e.g. a duplicate key
    return copy


def _is_under(path: DocPath, prefixes: set[DocPath]) -> bool:
    return any(path[: len(prefix)] == prefix for prefix in prefixes)


def _check(doc: Document, project_dir: Path, file: str) -> list[Problem]:
    findings, go_on = _check_version(doc.value)
    if not go_on:
        return [_locate(doc, f, file) for f in findings]
    passes = _SchemaPasses(project_dir)
    key = passes.key(doc)
    known = passes.coercions(key)
    if known is not None:
        for path, value in known:
            _set_at(doc.value, path, value)
        schema: list[Finding] = []
    else:
        coerced = _coerce_interpolated(doc)
        schema = [f for f in schema_findings(doc.value, doc.raw, doc.interpolated) if f.path != ("apiVersion",)]
    # The schema's defaults, filled in once (the only place they are stated is the schema's "default"
    # keywords): the semantic checks and the model build see every optional field with its value.
    fill_defaults(doc.value)
    # Semantic checks run even when the schema found problems, so the user sees everything at once; they
    # stay quiet where the schema already spoke or where a missing variable left a value unknown.
    quiet = {f.path for f in schema} | doc.tainted
    semantic = [
        f for f in semantic_findings(_without(doc.value, doc.tainted), project_dir) if not _is_under(f.path, quiet)
    ]
    schema = [f for f in schema if not _is_under(f.path, doc.tainted)]
    problems = [_locate(doc, f, file) for f in (*findings, *schema, *semantic)]
    if known is None and not schema and not doc.tainted:
        passes.remember(key, coerced)
    return problems


def _canonical_sha256(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


# --- public API --------------------------------------------------------------------------------------------


def load_spec(path: Path, env: Mapping[str, str] | None = None) -> model.Pipeline:
    """Load, interpolate and validate a pipeline spec; raise `SpecError` with every problem found."""
    path = Path(path)
    file = str(path)
    environment = os.environ if env is None else env
    try:
        return _load(path, file, environment)
    except Stop as stop:
        raise SpecError(stop.problems) from None
    except SpecError:
        raise
    except Exception as exc:
        # Last resort for hostile input: the user gets a located message instead of a traceback. The fuzz tests
        # fail on this message, so it marks a bug to fix, never an accepted outcome.
        message = f"{INTERNAL_ERROR}: {type(exc).__name__}: {exc}; please report this with the spec"
        raise SpecError([Problem(file, 1, 1, "", message)]) from exc


INTERNAL_ERROR = "internal error while checking the spec"


def _load(path: Path, file: str, env: Mapping[str, str]) -> model.Pipeline:
    text = read_text(path, file)
    doc = parse(text, file, env)
    project_dir = path.absolute().parent.resolve()
    problems = doc.problems + _check(doc, project_dir, file)
    if problems:
        unique = list(dict.fromkeys(problems))
        raise SpecError(sorted(unique, key=lambda p: (p.line, p.column, p.path, p.message)))
    pipeline = build(doc.value, path.absolute().resolve(), project_dir, _canonical_sha256(doc.value))
    found = [*literal_secret_findings(doc.value, doc.raw), *notify_env_findings(doc.value, env)]
    warnings = [_locate(doc, Finding(p, message), file) for p, message in found]
    return dataclasses.replace(pipeline, warnings=tuple(warnings)) if warnings else pipeline


def validate_file(path: Path, env: Mapping[str, str] | None = None) -> list[Problem]:
    """Every problem of the spec at `path` (empty when it is valid); for `reconcile validate`."""
    try:
        load_spec(path, env)
    except SpecError as exc:
        return exc.problems
    return []
