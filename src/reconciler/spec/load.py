"""Load pipeline.yaml: read, parse with line/column marks, interpolate ${VAR}, validate, build `model.Pipeline`.

Every problem is collected and reported at once as a `SpecError`, each located at file:line:column with its
path in the document (e.g. spec.crawlers[0].schedule). Hostile input (alias bombs, deep nesting, huge files,
odd tags) ends in a located problem, never in a traceback or a hang.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Problem, SpecError
from reconciler.localcache import read_json_dict, write_json_atomic
from reconciler.spec import model
from reconciler.spec.checks import (
    DocPath,
    Finding,
    describe,
    resolve_local,
    schema_findings,
    schema_type_errors,
    semantic_findings,
)
from reconciler.spec.literal_secrets import literal_secret_findings
from reconciler.spec.notify_checks import notify_env_findings, notify_model
from reconciler.spec.quicksight_checks import dataset_model
from reconciler.spec.schemas import fill_defaults

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["format_path", "interpolate", "load_spec", "validate_file"]

# Limits for hostile input. A real pipeline.yaml is a few kilobytes and a few hundred values.
MAX_BYTES = 1_000_000
MAX_DEPTH = 64  # nesting of mappings and lists
MAX_NODES = 20_000  # YAML nodes as written
MAX_VALUES = 20_000  # values after expanding aliases (a billion-laughs document explodes here)

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, _MAP, _SEQ, _MERGE, _VALUE = (_TAG + t for t in ("timestamp", "map", "seq", "merge", "value"))

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def format_path(path: DocPath) -> str:
    """('spec', 'crawlers', 0, 'schedule') -> spec.crawlers[0].schedule; odd keys are quoted: args['--x']."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


class _Stop(Exception):
    """Ends loading early when nothing after this step could be checked meaningfully."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


# --- step 1: read and parse --------------------------------------------------------------------------------


def _read_text(path: Path, file: str) -> str:
    def stop(message: str, line: int = 1, column: int = 1) -> _Stop:
        return _Stop([Problem(file, line, column, "", message)])

    try:
        if not path.exists():
            raise stop("file not found")
        if path.is_dir():
            raise stop("is a directory, not a pipeline.yaml file")
        if not path.is_file():
            raise stop("is not a regular file")  # a FIFO would block the read
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise stop(f"cannot read the file: {exc.strerror or exc}") from exc
    if len(data) > MAX_BYTES:
        raise stop(f"the file is larger than {MAX_BYTES} bytes; a pipeline spec is a few kilobytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise stop(f"is not UTF-8 text (byte 0x{data[exc.start]:02x})", line, column) from exc


class _LimitExceeded(Exception):
    def __init__(self, mark: yaml.Mark | tuple[int, int] | None, message: str, path: DocPath = ()) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.path = path

    def problem(self, file: str) -> Problem:
        if isinstance(self.mark, tuple):
            line, column = self.mark
        else:
            line, column = (self.mark.line + 1, self.mark.column + 1) if self.mark else (1, 1)
        return Problem(file, line, column, format_path(self.path), self.message)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses deep nesting and huge documents while composing (the composer recurses)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_DEPTH or self._nodes > MAX_NODES:
                mark: yaml.Mark | None = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                if self._depth > MAX_DEPTH:
                    raise _LimitExceeded(mark, f"nesting is deeper than {MAX_DEPTH} levels")
                raise _LimitExceeded(mark, f"the document has more than {MAX_NODES} values")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Lines:
    """Maps a character offset in the text to a 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset) - 1
        return line + 1, offset - self._starts[line] + 1


def _caret(text: str, line: int, column: int, note: str = "") -> str:
    """The source line `line` (1-based) and a caret under `column`, as compilers show a syntax error."""
    source = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    gutter = f"{line:>5} | "
    return f"\n{gutter}{source}\n{' ' * (len(gutter) - 2)}| {' ' * (column - 1)}^{' ' + note if note else ''}"


def _yaml_problem(exc: yaml.YAMLError, file: str, lines: _Lines, text: str = "") -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        words = "; ".join(str(w) for w in (exc.context, exc.problem) if w)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        shown = ""
        context = exc.context_mark
        if context and context.line + 1 != line:
            # The cause is often where the construct began (an unclosed bracket or quote): point there too.
            words += f" (see line {context.line + 1})"
            shown += _caret(text, context.line + 1, context.column + 1, "it starts here")
        shown += _caret(text, line, column)
        return Problem(file, line, column, "", f"YAML syntax error: {words}{shown if text else ''}")
    if isinstance(exc, yaml.reader.ReaderError):
        line, column = lines.at(exc.position)
        char = exc.character
        code = ord(char) if isinstance(char, str) else char
        shown = f"U+{code:04X}" if isinstance(code, int) else repr(code)
        return Problem(file, line, column, "", f"the text contains a character YAML does not allow ({shown})")
    return Problem(file, 1, 1, "", f"YAML error: {exc}")


def _compose(text: str, file: str, lines: _Lines) -> tuple[Node, _Loader]:
    try:
        loader = _Loader(text)  # the reader refuses non-printable characters right here
        node = loader.get_single_node()
    except _LimitExceeded as exc:
        raise _Stop([exc.problem(file)]) from exc
    except yaml.YAMLError as exc:
        raise _Stop([_yaml_problem(exc, file, lines, text)]) from exc
    except RecursionError as exc:  # belt and braces: MAX_DEPTH keeps the composer far from this
        raise _Stop([Problem(file, 1, 1, "", f"nesting is deeper than {MAX_DEPTH} levels")]) from exc
    if node is None:
        raise _Stop([Problem(file, 1, 1, "", "the file is empty; expected apiVersion, kind, metadata and spec")])
    return node, loader


# --- step 2: interpolation ---------------------------------------------------------------------------------

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class InterpolationIssue:
    offset: int  # where the reference starts in the value
    reference: str  # the reference as written, e.g. ${BUCKET}
    message: str


def interpolate(value: str, env: Mapping[str, str]) -> tuple[str, list[InterpolationIssue]]:
    """Replace ${VAR} and ${VAR:-default} (default when VAR is unset or empty); $${ is a literal ${.

    Values from the environment are inserted as they are, never interpolated again.
    """
    out: list[str] = []
    issues: list[InterpolationIssue] = []
    i = 0
    while i < len(value):
        start = value.find("$", i)
        if start < 0:
            out.append(value[i:])
            break
        out.append(value[i:start])
        if value.startswith("$${", start):
            out.append("${")
            i = start + 3
            continue
        if not value.startswith("${", start):
            out.append("$")
            i = start + 1
            continue
        match = _REFERENCE.match(value, start)
        if match is None:
            written = value[start : value.find("}", start) + 1 or start + 12]
            issues.append(
                InterpolationIssue(
                    start,
                    written,
                    f"malformed variable reference {written!r}: write ${{NAME}} or ${{NAME:-default}} "
                    "(or $${ for a literal ${)",
                )
            )
            out.append(value[start:])
            break
        name, default = match.group(1), match.group(2)
        current = env.get(name)
        if current:
            out.append(current)
        elif default is not None:
            out.append(default)
        elif current is not None:
            out.append(current)  # set but empty, and no default: empty is what the user asked for
        else:
            issues.append(
                InterpolationIssue(
                    start,
                    match.group(0),
                    f"environment variable {name} is not set and has no default (set it, or write ${{{name}:-value}})",
                )
            )
        i = match.end()
    return "".join(out), issues


# --- step 1b: nodes to plain values, keeping where each came from ------------------------------------------


@dataclass
class _Document:
    value: Any = None
    marks: dict[DocPath, tuple[int, int]] = field(default_factory=dict)  # path -> where its value starts
    key_marks: dict[DocPath, tuple[int, int]] = field(default_factory=dict)  # path -> where its key is
    raw: dict[DocPath, str] = field(default_factory=dict)  # scalar text as written, for hints
    interpolated: set[DocPath] = field(default_factory=set)  # strings that came from ${...}
    tainted: set[DocPath] = field(default_factory=set)  # a variable was missing: other checks stay quiet
    problems: list[Problem] = field(default_factory=list)


class _Constructor:
    """Turns the composed node graph into dicts, lists and scalars, expanding aliases under a budget."""

    def __init__(self, loader: _Loader, text: str, lines: _Lines, file: str, env: Mapping[str, str]) -> None:
        self.loader = loader
        self.text = text
        self.file = file
        self.env = env
        self.lines = lines
        self.doc = _Document()
        self._values = 0
        self._active: set[int] = set()  # ids of the collections being built, to catch recursive aliases

    def problem(self, mark: tuple[int, int], path: DocPath, message: str, *, taint: bool = True) -> None:
        """Record a problem; a tainted value is unknown, so later checks stay quiet about it."""
        self.doc.problems.append(Problem(self.file, mark[0], mark[1], format_path(path), message))
        if taint:
            self.doc.tainted.add(path)

    @staticmethod
    def mark(node: Node) -> tuple[int, int]:
        start = node.start_mark
        return (start.line + 1, start.column + 1) if start is not None else (1, 1)

    def build(self, node: Node, path: DocPath, depth: int) -> Any:
        self._values += 1
        # Aliases leave no mark of their own: the key that holds one is the best place to point at.
        where = self._nearest_key_mark(path) or self.mark(node)
        if self._values > MAX_VALUES:
            message = f"the document expands to more than {MAX_VALUES} values (YAML aliases repeated too often?)"
            raise _LimitExceeded(where, message, path)
        if depth > MAX_DEPTH:
            raise _LimitExceeded(where, f"nesting (with aliases expanded) is deeper than {MAX_DEPTH}", path)
        if id(node) in self._active:
            raise _LimitExceeded(where, "a YAML alias refers to a value that contains it", path)
        self.doc.marks.setdefault(path, self.mark(node))
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode) and node.tag == _SEQ:
                return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode) and node.tag == _MAP:
                return self.mapping(node, path, depth)
            self.problem(self.mark(node), path, f"unsupported YAML tag {node.tag!r}; write plain values")
            return None
        finally:
            self._active.discard(id(node))

    def _nearest_key_mark(self, path: DocPath) -> tuple[int, int] | None:
        for end in range(len(path), 0, -1):
            mark = self.doc.key_marks.get(path[:end])
            if mark:
                return mark
        return None

    def mapping(self, node: MappingNode, path: DocPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                # YAML merge key (<<: *defaults): explicit keys win, then earlier sources over later ones.
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                merges.extend(sources)
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem(self.mark(key_node), path, "mapping keys must be plain text, not a list or mapping")
                continue
            key = str(key_node.value)
            key_path = (*path, key)
            key_mark = self.mark(key_node)
            if key in first_seen:
                self.problem(
                    key_mark, key_path, f"duplicate key {key!r} (first at line {first_seen[key]})", taint=False
                )
                continue
            first_seen[key] = key_mark[0]
            self.doc.key_marks.setdefault(key_path, key_mark)
            result[key] = self.build(value_node, key_path, depth + 1)
        for source in merges:
            merged = self.build(source, path, depth)
            if not isinstance(merged, dict):
                self.problem(self.mark(source), path, "'<<' (merge) takes a mapping or a list of mappings")
                continue
            for key, value in merged.items():
                result.setdefault(key, value)
        return result

    def scalar(self, node: ScalarNode, path: DocPath) -> Any:
        text = str(node.value)
        self.doc.raw[path] = text
        if node.tag == _STR:
            return self.interpolate(node, path, text) if "$" in text else text
        if node.tag in (_TIMESTAMP, _VALUE):
            # No field is a date: keep what was written instead of a datetime. A plain '=' resolves to
            # YAML 1.1's "value" tag, which is just text to us (e.g. a delimiter).
            return text
        if node.tag in (_INT, _FLOAT, _BOOL, _NULL):
            try:
                return self.loader.construct_object(node)
            except (ValueError, OverflowError, yaml.YAMLError):
                # e.g. an integer with more digits than Python converts
                self.problem(self.mark(node), path, f"cannot read {describe(text)} as a number")
                return None
        self.problem(
            self.mark(node),
            path,
            f"unsupported YAML tag {node.tag!r}; write a plain value (use ${{VAR}} to read the environment)",
        )
        return None

    def interpolate(self, node: ScalarNode, path: DocPath, text: str) -> str:
        result, issues = interpolate(text, self.env)
        if result != text or issues:
            self.doc.interpolated.add(path)
        for issue in issues:
            self.problem(self.locate_in_scalar(node, issue.reference), path, issue.message)
        return result

    def locate_in_scalar(self, node: ScalarNode, needle: str) -> tuple[int, int]:
        """Where `needle` is written inside the scalar (the scalar's start if escapes moved it)."""
        start, end = node.start_mark, node.end_mark
        if start is None or end is None:
            return self.mark(node)
        found = self.text.find(needle, start.index, end.index)
        return self.lines.at(found) if found >= 0 else self.mark(node)


def _parse(text: str, file: str, env: Mapping[str, str]) -> _Document:
    lines = _Lines(text)
    node, loader = _compose(text, file, lines)
    constructor = _Constructor(loader, text, lines, file, env)
    try:
        constructor.doc.value = constructor.build(node, (), 0)
    except _LimitExceeded as exc:
        raise _Stop([exc.problem(file)]) from exc
    return constructor.doc


# --- steps 3-5: version, schema, semantics -----------------------------------------------------------------


def _locate(doc: _Document, finding: Finding, file: str) -> Problem:
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


def _coerce_interpolated(doc: _Document) -> list[tuple[DocPath, Any]]:
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
    def key(doc: _Document) -> str:
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


def _check(doc: _Document, project_dir: Path, file: str) -> list[Problem]:
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


# --- step 6: the typed model -------------------------------------------------------------------------------


def _build(value: dict[str, Any], spec_file: Path, project_dir: Path, digest: str) -> model.Pipeline:
    """The validated document, its schema defaults filled in (fill_defaults), as `model.Pipeline`. No default
    is restated here: an optional field without a schema default (e.g. a job's timeout_minutes, whose AWS
    default depends on the Glue version: resources/job.py FIELDS) stays None."""
    metadata = value["metadata"]
    spec = value["spec"]
    bucket = spec["bucket"]
    encryption = bucket["encryption"]
    role = spec["role"]
    database = spec["database"]
    uploads = tuple(
        model.Upload(
            source=resolve_local(upload["source"], project_dir),
            source_text=upload["source"],
            prefix=upload["prefix"],
            is_dir=resolve_local(upload["source"], project_dir).is_dir(),
            allow_outside_project=upload["allow_outside_project"],
            prune=upload["prune"],
        )
        for upload in spec["uploads"]
    )
    crawlers = tuple(
        _record(
            model.Crawler,
            crawler,
            targets=tuple(crawler["targets"]),
            schema_change_policy=_record(model.SchemaChangePolicy, crawler["schema_change_policy"]),
        )
        for crawler in spec["crawlers"]
    )
    jobs = tuple(_record(model.Job, job, arguments=tuple(sorted(job["arguments"].items()))) for job in spec["jobs"])
    schedule = None
    if "schedule" in spec:
        raw_schedule = spec["schedule"]
        schedule = model.Schedule(
            workflow=raw_schedule["workflow"],
            cron=raw_schedule["cron"],
            crawler=raw_schedule["crawler"],
            job=raw_schedule["job"],
            enabled=raw_schedule["enabled"],
            in_aws=raw_schedule["in_aws"],
            quarter=raw_schedule["quarter"],
        )
    manifest = None
    raw_manifest = spec.get("quicksight", {}).get("manifest")
    if raw_manifest is not None:
        data_format = raw_manifest["format"]
        manifest = model.Manifest(
            template=resolve_local(raw_manifest["template"], project_dir),
            output=resolve_local(raw_manifest["output"], project_dir),
            key=raw_manifest["key"],
            data_prefix=raw_manifest["data_prefix"],
            format=data_format,
            # The one default that depends on another field, so the schema can only describe it.
            delimiter=raw_manifest.get("delimiter", "\t" if data_format == "TSV" else ","),
            contains_header=raw_manifest["contains_header"],
        )
    return model.Pipeline(
        name=metadata["name"],
        region=metadata["region"],
        tags=tuple(sorted(metadata["tags"].items())),
        bucket=model.Bucket(
            name=bucket["name"],
            versioning=bucket["versioning"],
            encryption=model.Encryption(type=encryption["type"], kms_key_arn=encryption.get("kms_key_arn")),
            force_destroy=bucket["force_destroy"],
        ),
        uploads=uploads,
        role=model.Role(arn=role.get("arn"), managed_name=role.get("managed", {}).get("name")),
        database=model.Database(name=database["name"], description=database["description"]),
        crawlers=crawlers,
        jobs=jobs,
        schedule=schedule,
        quicksight=model.QuickSight(
            manifest=manifest, dataset=dataset_model(spec.get("quicksight", {}).get("dataset"))
        ),
        spec_file=spec_file,
        spec_sha256=digest,
        quality=_quality(spec.get("quality", {})),
        publish=model.Publish(keep_quarters=spec["publish"]["keep_quarters"]),
        allow=model.Allow(
            external_code=tuple(spec["allow"]["external_code"]),
            external_inputs=tuple(spec["allow"]["external_inputs"]),
        ),
        notify=notify_model(spec.get("notify")),
    )


_Record = TypeVar("_Record", bound="DataclassInstance")


def _record(cls: type[_Record], raw: Mapping[str, Any], **converted: Any) -> _Record:
    """A model dataclass from its spec mapping: the model's field names are the spec's keys, so every key
    present is taken as it is (validated, defaults filled in) unless `converted` gives its value; an absent
    key leaves the model's own "absent" (None)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in raw.items() if k in names and k not in converted}, **converted)


def _quality(raw: dict[str, Any]) -> model.Quality:
    """An absent rule is not checked (None, or nothing required)."""
    return model.Quality(
        min_rows_read=raw.get("min_rows_read"),
        max_quarantine_share=raw.get("max_quarantine_share"),
        max_duplicate_share=raw.get("max_duplicate_share"),
        required_brands=tuple(raw.get("required_brands", ())),
        covers_quarter=raw.get("covers_quarter", False),
        max_brand_share_change=raw.get("max_brand_share_change"),
    )


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
    except _Stop as stop:
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
    text = _read_text(path, file)
    doc = _parse(text, file, env)
    project_dir = path.absolute().parent.resolve()
    problems = doc.problems + _check(doc, project_dir, file)
    if problems:
        unique = list(dict.fromkeys(problems))
        raise SpecError(sorted(unique, key=lambda p: (p.line, p.column, p.path, p.message)))
    pipeline = _build(doc.value, path.absolute().resolve(), project_dir, _canonical_sha256(doc.value))
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
