"""The human-readable plan, as Terraform's: a legend, one block per change, policies statement by statement,
uploads object by object, and a security section that says whether each change widens or tightens access.

`plan_lines` is pure (a plan in, styled lines out) so the wording is tested without a console; `render_plan`
prints them. Values are never cut short: a cut JSON value once hid an added `s3:*` on `*` statement behind
two identical prefixes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape

from reconciler.engine.diff import ADOPT, BLOCKED, CONFLICT, CREATE, DELETE, NOOP, REPLACE, UPDATE, Change
from reconciler.engine.plan import Plan, mask
from reconciler.engine.security import ENTRY, TIGHTENS, created_entries, security_effect
from reconciler.resources import fields_of
from reconciler.resources.base import AttrChange
from reconciler.resources.fields import field_at
from reconciler.resources.guards import policy_document

SYMBOL = {
    CREATE: ("+", "green"),
    UPDATE: ("~", "yellow"),
    ADOPT: ("~", "cyan"),
    REPLACE: ("-/+", "red"),
    DELETE: ("-", "red"),
    CONFLICT: ("!", "magenta"),
    BLOCKED: ("x", "red"),
    NOOP: (" ", "dim"),
}
VERB = {
    CREATE: "will be created",
    UPDATE: "will be updated in place",
    ADOPT: "will be adopted and updated",
    REPLACE: "must be replaced",
    DELETE: "will be destroyed",
    CONFLICT: "is held by someone else (conflict)",
    BLOCKED: "will NOT be destroyed",
}
#: the legend's words per symbol, in Terraform's order; only the symbols a plan uses are listed
LEGEND = (
    ((CREATE,), "+", "create"),
    ((UPDATE, ADOPT), "~", "update in place"),
    ((REPLACE,), "-/+", "replace (delete, then create)"),
    ((DELETE,), "-", "delete"),
    ((CONFLICT,), "!", "conflict (not ours: apply refuses)"),
    ((BLOCKED,), "x", "delete blocked (data kept)"),
)
MAX_OBJECT_LINES = 20  # per upload, in the human-readable plan (plan --json has every object)
INDENT = "    "


@dataclass(frozen=True)
class Line:
    """One printed line: plain text (markup-free) and the style rich gives it."""

    text: str
    style: str = ""


def fmt(value: Any) -> str:
    """A value as JSON, whole."""
    if value is None:
        return "(none)"
    return json.dumps(value, sort_keys=True, default=str)


def size(n: Any) -> str:
    return f"{n:,} bytes" if isinstance(n, int) else "? bytes"


def legend(changes: Iterable[Change]) -> str:
    used = {c.action for c in changes}
    parts = [f"{symbol} {words}" for actions, symbol, words in LEGEND if used & set(actions)]
    return "Symbols: " + ", ".join(parts) if parts else ""


def is_policy(kind: str, keys: tuple[str, ...]) -> bool:
    f = field_at(fields_of(kind), keys)
    return f is not None and f.widens is policy_document


# --- policy documents, statement by statement --------------------------------------------------------------


def _statements(value: Any) -> list[Any]:
    """The statements of a policy document, or of a bare statement list (the diff's `.Statement` value)."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        value = value.get("Statement", [])
    return list(value) if isinstance(value, list) else [value]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _principals(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [f"{kind}: {p}" for kind, ps in sorted(value.items()) for p in _as_list(ps)]
    return _as_list(value)


#: statement keys shown as lists of words (what the statement grants or denies, on what, to whom)
_LISTED = (("Principal", "principal"), ("NotPrincipal", "not principal"), ("Action", "action"),
           ("NotAction", "not action"), ("Resource", "resource"), ("NotResource", "not resource"))  # fmt: skip


def _words(statement: Mapping[str, Any], key: str) -> list[str]:
    value = statement.get(key)
    return _principals(value) if "Principal" in key else _as_list(value)


def _title(statement: Any) -> str:
    if not isinstance(statement, Mapping):
        return f"statement {fmt(statement)}"
    sid = f" {json.dumps(statement['Sid'])}" if statement.get("Sid") else ""
    return f"statement{sid} ({statement.get('Effect', '?')})"


def _statement_body(statement: Any) -> list[str]:
    if not isinstance(statement, Mapping):
        return []
    lines = []
    for key, label in _LISTED:
        if key in statement:
            lines.append(f"{label + 's':<13} {', '.join(_words(statement, key)) or '(none)'}")
    for key in sorted(set(statement) - {k for k, _ in _LISTED} - {"Sid", "Effect"}):
        lines.append(f"{key.lower():<13} {fmt(statement[key])}")
    return lines


def _statement_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    lines = []
    if before.get("Effect") != after.get("Effect"):
        lines.append(f"~ effect {before.get('Effect')} -> {after.get('Effect')}")
    for key, label in _LISTED:
        old, new = _words(before, key), _words(after, key)
        lines += [f"- {label} {w}" for w in old if w not in new]
        lines += [f"+ {label} {w}" for w in new if w not in old]
    for key in sorted((set(before) | set(after)) - {k for k, _ in _LISTED} - {"Sid", "Effect"}):
        if before.get(key) != after.get(key):
            lines.append(f"~ {key.lower()} {fmt(before.get(key))} -> {fmt(after.get(key))}")
    return lines


def _pairs(removed: list[Any], added: list[Any]) -> tuple[list[tuple[Any, Any]], list[Any], list[Any]]:
    """Match a removed and an added statement as one changed statement: the same Sid, or (without Sids)
    the same effect and the same actions or the same resources."""
    pairs: list[tuple[Any, Any]] = []
    added = list(added)
    left: list[Any] = []
    for old in removed:
        match = None
        if isinstance(old, Mapping):
            for new in added:
                if not isinstance(new, Mapping):
                    continue
                if old.get("Sid") or new.get("Sid"):
                    same = old.get("Sid") == new.get("Sid")
                else:
                    same = old.get("Effect") == new.get("Effect") and (
                        _words(old, "Action") == _words(new, "Action")
                        or _words(old, "Resource") == _words(new, "Resource")
                    )
                if same:
                    match = new
                    break
        if match is None:
            left.append(old)
        else:
            added.remove(match)
            pairs.append((old, match))
    return pairs, left, added


def policy_lines(before: Any, after: Any) -> list[Line]:
    """A policy change statement by statement: added (+), removed (-) and changed (~) statements with every
    action, resource and principal written out, and how many statements stayed the same."""
    old, new = _statements(before), _statements(after)
    unchanged = [s for s in new if s in old]
    removed = [s for s in old if s not in new]
    added = [s for s in new if s not in old]
    pairs, removed, added = _pairs(removed, added)
    counts = [f"{len(added)} added" if added else "", f"{len(removed)} removed" if removed else "",
              f"{len(pairs)} changed" if pairs else "", f"{len(unchanged)} unchanged" if unchanged else ""]  # fmt: skip
    lines = [Line("statements: " + ", ".join(c for c in counts if c), "dim")]
    for statement in added:
        lines.append(Line(f"+ {_title(statement)}", "green"))
        lines += [Line(f"{INDENT}{text}", "green") for text in _statement_body(statement)]
    for statement in removed:
        lines.append(Line(f"- {_title(statement)}", "red"))
        lines += [Line(f"{INDENT}{text}", "red") for text in _statement_body(statement)]
    for old_statement, new_statement in pairs:
        lines.append(Line(f"~ {_title(new_statement)}", "yellow"))
        for text in _statement_changes(old_statement, new_statement):
            style = "green" if text.startswith("+") else "red" if text.startswith("-") else "yellow"
            lines.append(Line(f"{INDENT}{text}", style))
    return lines


# --- uploads, object by object -----------------------------------------------------------------------------


def upload_lines(change: Change) -> list[Line]:
    """`+ key (size)` for a new object, `~ key (old size -> new size)` for a changed one, `- key` for one that
    goes; at most MAX_OBJECT_LINES of them, with a count of the rest."""
    objects = change.desired.attrs.get("objects", {}) if change.desired is not None else {}
    by_key: dict[str, list[AttrChange]] = {}
    for attr in change.attrs:
        if attr.top == "objects" and len(attr.keys) > 1:
            by_key.setdefault(attr.keys[1], []).append(attr)
    lines: list[Line] = []
    sending = 0
    for key in sorted(by_key):
        attrs = by_key[key]
        whole = next((a for a in attrs if len(a.keys) == 2), None)
        if whole is not None and whole.before is None:
            sending += (whole.after or {}).get("size", 0)
            lines.append(Line(f"+ {key} ({size((whole.after or {}).get('size'))})", "green"))
        elif whole is not None and whole.after is None:
            lines.append(Line(f"- {key}", "red"))
        else:
            new_size = objects.get(key, {}).get("size")
            old_size = next((a.before for a in attrs if a.keys[2:] == ("size",)), new_size)
            if whole is not None:  # the whole entry differs (e.g. no sha256 recorded before)
                old_size = (whole.before or {}).get("size", old_size)
            sending += new_size or 0
            lines.append(Line(f"~ {key} ({size(old_size)} -> {size(new_size)})", "yellow"))
    other = [a for a in change.attrs if not (a.top == "objects" and len(a.keys) > 1)]
    head = [Line(f"{len(by_key)} object(s) differ: {sum(1 for ln in lines if ln.text[0] in '+~')} to send, "
                 f"{sending:,} bytes", "yellow")] if len(by_key) > MAX_OBJECT_LINES else []  # fmt: skip
    tail = [Line(f"… and {len(lines) - MAX_OBJECT_LINES} more (all of them: plan --json)", "yellow")]
    shown = head + lines[:MAX_OBJECT_LINES] + (tail if len(lines) > MAX_OBJECT_LINES else [])
    return shown + [_attr_line(change, a) for a in other]


def _created_upload(change: Change) -> list[Line]:
    assert change.desired is not None
    attrs = change.desired.attrs
    objects = attrs["objects"]
    total = sum(o["size"] for o in objects.values())
    lines = [Line(f"{len(objects)} object(s), {total:,} bytes to s3://{attrs['bucket']}/", "green")]
    lines += [
        Line(f"+ {key} ({size(meta['size'])})", "green") for key, meta in list(objects.items())[:MAX_OBJECT_LINES]
    ]
    if len(objects) > MAX_OBJECT_LINES:
        lines.append(Line(f"… and {len(objects) - MAX_OBJECT_LINES} more (all of them: plan --json)", "green"))
    return lines


# --- one change --------------------------------------------------------------------------------------------


def _attr_line(change: Change, attr: AttrChange) -> Line:
    before, after = mask(change.kind, attr.keys, attr.before), mask(change.kind, attr.keys, attr.after)
    return Line(f"~ {attr.path}: {fmt(before)} -> {fmt(after)}", "yellow")


def _indent(lines: Iterable[Line], depth: int = 1) -> list[Line]:
    return [Line(INDENT * depth + line.text, line.style) for line in lines]


def change_lines(change: Change) -> list[Line]:
    """The block of one change: its header, its reason, and what changes in it."""
    symbol, style = SYMBOL[change.action]
    lines = [Line(f"{symbol} {change.address} {VERB[change.action]}", style)]
    if change.reason and change.action not in {CREATE, UPDATE}:
        lines.append(Line(f"{INDENT}# {change.reason}", "dim"))
    if change.action == CREATE and change.desired is not None:
        if change.kind == "upload":
            return lines + _indent(_created_upload(change))
        for key, value in change.desired.attrs.items():
            if is_policy(change.kind, (key,)) and value is not None:
                lines.append(Line(f"{INDENT}+ {key}:", "green"))
                lines += _indent(policy_lines(None, value), 2)
            else:
                lines.append(Line(f"{INDENT}+ {key} = {fmt(mask(change.kind, (key,), value))}", "green"))
        return lines
    if change.kind == "upload":
        return lines + _indent(upload_lines(change))
    for attr in change.attrs:
        if is_policy(change.kind, attr.keys) and (len(attr.keys) == 1 or attr.keys[-1] == "Statement"):
            lines.append(Line(f"{INDENT}~ {attr.path}:", "yellow"))
            lines += _indent(policy_lines(attr.before, attr.after), 2)
        else:
            lines.append(Line(INDENT + _attr_line(change, attr).text, "yellow"))
    return lines


def security_lines(changes: Iterable[Change]) -> list[Line]:
    """One line per changed security attribute, labelled: widens, tightens, both or neither; each way it
    widens or tightens access below it."""
    lines: list[Line] = []
    for change in changes:
        if change.action == NOOP:
            continue
        lines += [Line(f"! {change.address} {path}: {ENTRY}", "yellow") for path in created_entries(change)]
        for attr in change.attrs:
            effect = security_effect(change, attr)
            if effect is None:
                continue
            label = effect.label + (" (a policy where there was none; not asked about)" if effect.restores else "")
            style = "bold red" if effect.widens else "green" if effect.label == TIGHTENS else "yellow"
            lines.append(Line(f"! {change.address} {attr.path}: {label}", style))
            lines += [Line(f"{INDENT}widens: {r}", "red") for r in effect.widens]
            lines += [Line(f"{INDENT}tightens: {r}", "green") for r in effect.tightens]
    return lines


def plan_lines(plan: Plan) -> list[Line]:
    """Everything `plan` prints for people, in order."""
    visible = [c for c in plan.changes if c.action != NOOP]
    lines: list[Line] = []
    if visible:
        lines += [Line(legend(visible), "dim"), Line("")]
    for change in visible:
        lines += [*change_lines(change), Line("")]
    security = security_lines(visible)
    if security:
        lines.append(Line("Security-relevant changes (IAM, bucket policy, public access, encryption):", "bold"))
        lines += [*_indent(security), Line("")]
    lines += [Line(f"Warning: {w}", "yellow") for w in plan.warnings]
    if not plan.has_changes:
        return [*lines, Line("No changes. Live state matches the spec.", "green")]
    counts = plan.counts()
    summary = (
        f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['replace']} to replace, "
        f"{counts['destroy']} to destroy"
        + (f" ({counts['pruned_objects']} of them object(s) pruned from uploads)." if counts["pruned_objects"] else ".")
    )
    if counts["conflict"]:
        summary += f" {counts['conflict']} conflict(s): apply refuses until they are resolved."
    if counts["blocked"]:
        summary += f" {counts['blocked']} delete(s) blocked to protect data."
    return [*lines, Line(summary, "bold")]


def render_plan(console: Console, plan: Plan) -> None:
    for line in plan_lines(plan):
        console.print(f"[{line.style}]{escape(line.text)}[/]" if line.style and line.text else escape(line.text))
