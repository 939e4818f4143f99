"""Pure diff: desired vs observed attributes -> one Change per resource. No I/O.

Semantics we decided once: every attribute a kind puts into `desired()` is owned by us, and an
attribute the spec omits has already been filled with its default there, so a difference always
means drift. Kinds normalise what AWS fills in (read side) into the same shape before we get here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.resources.base import AttrChange, Desired, Observed, tags_to_remove

CREATE = "create"
UPDATE = "update"
REPLACE = "replace"
DELETE = "delete"
NOOP = "no-op"
CONFLICT = "conflict"  # a declared name is held by a resource this pipeline does not own
ADOPT = "adopt"  # take over an unowned resource, on request
BLOCKED = "blocked"  # a delete that needs --force (a bucket holding objects)

ACTIONS = (CREATE, UPDATE, REPLACE, DELETE, NOOP, CONFLICT, ADOPT, BLOCKED)


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: str
    level: int
    attrs: list[AttrChange] = field(default_factory=list)
    reason: str = ""
    desired: Desired | None = None

    @property
    def address(self) -> str:
        return f"{self.kind}.{self.name}"

    @property
    def deleted_objects(self) -> list[str]:
        """The keys an update of an upload deletes (objects its source no longer has, with `prune: true`):
        each is a destroy, counted and gated as one, though the upload itself is updated in place."""
        if self.action != UPDATE or self.kind != "upload":
            return []
        return sorted(a.keys[1] for a in self.attrs if len(a.keys) == 2 and a.top == "objects" and a.after is None)


def diff_values(desired: Any, observed: Any, path: tuple[str, ...] = ()) -> list[AttrChange]:
    """Attribute-level differences; dicts recurse, lists and scalars compare whole."""
    if isinstance(desired, Mapping) and isinstance(observed, Mapping):
        changes: list[AttrChange] = []
        for key in sorted(set(desired) | set(observed), key=str):
            sub = (*path, str(key))
            if key not in observed:
                changes.append(AttrChange(sub, None, desired[key]))
            elif key not in desired:
                changes.append(AttrChange(sub, observed[key], None))
            else:
                changes.extend(diff_values(desired[key], observed[key], sub))
        return changes
    if desired != observed:
        return [AttrChange(path, observed, desired)]
    return []


def diff_tags(desired: Mapping[str, str], observed: Mapping[str, str]) -> list[AttrChange]:
    """Tags we declare must match; a key we put there (recorded in KEYS_TAG) and no longer declare goes;
    tags others added are left alone."""
    changes = []
    for key in sorted(desired):
        if observed.get(key) != desired[key]:
            changes.append(AttrChange(("tags", key), observed.get(key), desired[key]))
    for key in tags_to_remove(observed, desired):
        changes.append(AttrChange(("tags", key), observed[key], None))
    return changes


def decide(
    kind: str,
    level: int,
    immutable: frozenset[str],
    desired: Desired,
    observed: Observed | None,
    pipeline_name: str,
    *,
    adopt: bool = False,
) -> Change:
    """The action for one declared resource."""
    if observed is None:
        return Change(kind, desired.name, CREATE, level, reason="does not exist", desired=desired)
    owner = observed.owner()
    if owner == pipeline_name and observed.elsewhere is not None and not adopt:
        return Change(kind, desired.name, CONFLICT, level, reason=observed.elsewhere, desired=desired)
    if owner != pipeline_name:
        held_by = f"pipeline {owner!r}" if owner else "no pipeline (untagged)"
        if not adopt:
            also = " (--adopt all leaves another pipeline's resources alone)" if owner else ""
            return Change(
                kind, desired.name, CONFLICT, level,
                reason=f"exists but is owned by {held_by}; not modified (adopt it with --adopt {kind}.{desired.name})"
                + also,
                desired=desired,
            )  # fmt: skip
    attr_changes = diff_values(desired.attrs, observed.attrs) + diff_tags(desired.tags, observed.tags)
    if owner != pipeline_name:
        taken = f"taken over from pipeline {owner!r} on request" if owner else "adopted on request"
        return Change(kind, desired.name, ADOPT, level, attr_changes, taken, desired)
    if not attr_changes:
        return Change(kind, desired.name, NOOP, level, desired=desired)
    forcing = sorted({c.top for c in attr_changes} & immutable)
    if forcing:
        return Change(
            kind, desired.name, REPLACE, level, attr_changes,
            f"{', '.join(forcing)} cannot change in place", desired,
        )  # fmt: skip
    return Change(kind, desired.name, UPDATE, level, attr_changes, desired=desired)
