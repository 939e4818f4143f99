"""Read pipeline.yaml and parse it with line/column marks, interpolating ${VAR}: steps 1 and 2 of load.py.

Hostile input (alias bombs, deep nesting, huge files, odd tags) ends in a located problem (`Stop`), never in a
traceback or a hang. The result, a `Document`, keeps where each value came from, so load.py can place every
problem at file:line:column."""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Problem
from reconciler.spec.findings import DocPath, describe

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "MAX_VALUES", "Document", "Stop", "format_path", "interpolate",
           "parse", "read_text"]  # fmt: skip

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


class Stop(Exception):
    """Ends loading early when nothing after this step could be checked meaningfully."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


# --- step 1: read and parse --------------------------------------------------------------------------------


def read_text(path: Path, file: str) -> str:
    def stop(message: str, line: int = 1, column: int = 1) -> Stop:
        return Stop([Problem(file, line, column, "", message)])

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
        raise Stop([exc.problem(file)]) from exc
    except yaml.YAMLError as exc:
        raise Stop([_yaml_problem(exc, file, lines, text)]) from exc
    except RecursionError as exc:  # belt and braces: MAX_DEPTH keeps the composer far from this
        raise Stop([Problem(file, 1, 1, "", f"nesting is deeper than {MAX_DEPTH} levels")]) from exc
    if node is None:
        raise Stop([Problem(file, 1, 1, "", "the file is empty; expected apiVersion, kind, metadata and spec")])
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
class Document:
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
        self.doc = Document()
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


def parse(text: str, file: str, env: Mapping[str, str]) -> Document:
    lines = _Lines(text)
    node, loader = _compose(text, file, lines)
    constructor = _Constructor(loader, text, lines, file, env)
    try:
        constructor.doc.value = constructor.build(node, (), 0)
    except _LimitExceeded as exc:
        raise Stop([exc.problem(file)]) from exc
    return constructor.doc
