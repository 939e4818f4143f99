"""The field table of a resource kind: every attribute stated once, with its API field, its spec key,
its converters, the default AWS fills in and its flags.

A kind module declares `FIELDS` once; expand (attributes -> API parameters), flatten (API answer ->
attributes), desired (spec -> attributes), the partial update, and the immutable / security / sensitive
sets of `ResourceKind` are all derived from it. Masking (engine/plan.py `mask`) and the security section
(engine/security.py, cli/render.py) read the flags from here.

Attribute names may be dotted for nested attributes ("schema_change_policy.update_behavior" is
attrs["schema_change_policy"]["update_behavior"]); API paths are dotted the same way
("Command.ScriptLocation"). A field whose AWS side is not one API field (several S3 calls, a policy
document, a per-object map) has `api=""` and a `note` saying how its kind reads and writes it.

Pure: no boto3, no imports from the rest of the tool, so the spec layer and the engine can read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Attrs = dict[str, Any]

MASK = "(sensitive)"

#: (keys of the changed value below the kind's attributes, before, after) -> why it widens access
Widens = Callable[[tuple[str, ...], Any, Any], list[str]]


class _Absent:
    """Marks "no value here" (distinct from None, which is a value: e.g. no schedule)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Field:
    #: our attribute name (dotted when nested)
    name: str
    #: the API field path in Create*/Update* parameters and in Get* answers; "" when irregular (see note)
    api: str = ""
    #: the spec key it comes from, relative to the kind's section (e.g. "timeout_minutes"); "" when derived
    spec: str = ""
    #: write converter: our value -> the API's
    write: Callable[[Any], Any] = _same
    #: read converter: the API's value (when present) -> ours
    read: Callable[[Any], Any] = _same
    #: what AWS fills in when the field is absent (also what desired uses when the spec has no value)
    default: Any = None
    #: a default that depends on other attributes (e.g. the Glue version); wins over `default`
    default_from: Callable[[Attrs], Any] | None = None
    #: a change means replace
    immutable: bool = False
    #: shown in the plan's security section
    security: bool = False
    #: how a change widens access (engine/security.py); implies security
    widens: Widens | None = None
    #: masked in every output
    sensitive: bool = False
    #: a per-entry rule of a mapping: the values of the entries whose key matches are masked
    secret_key: Callable[[str], bool] | None = None
    #: a per-entry rule of a mapping: a change of an entry whose key matches is shown in the security section
    security_key: Callable[[str], bool] | None = None
    #: not sent when empty on create; a partial update sends `clear` instead (UpdateCrawler Schedule="")
    optional: bool = False
    clear: Any = None
    #: False: read from `api` but never sent by expand; the kind writes it itself (see note)
    writable: bool = True
    #: another valid value, in our attribute form (which equals the spec form when `spec` is set), that the
    #: acceptance tests change the attribute to; ABSENT when the attribute cannot be changed by itself
    sample: Any = ABSENT
    #: other attributes the sample is only valid together with (AWS refuses it alone)
    sample_needs: Mapping[str, Any] | None = None
    #: how an irregular field maps to AWS, or why it has no sample
    note: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    @property
    def top(self) -> str:
        return self.keys[0]

    @property
    def is_security(self) -> bool:
        return self.security or self.widens is not None

    def default_for(self, attrs: Mapping[str, Any]) -> Any:
        if self.default_from is not None:
            return self.default_from(dict(attrs))
        return _copy(self.default)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# --- paths ---------------------------------------------------------------------------------------------------


def get_path(item: Any, path: str | tuple[str, ...]) -> Any:
    """The value at a dotted path, ABSENT when any step is missing."""
    keys = tuple(path.split(".")) if isinstance(path, str) else path
    current = item
    for key in keys:
        if not isinstance(current, Mapping) or key not in current:
            return ABSENT
        current = current[key]
    return current


def set_path(item: dict[str, Any], path: str | tuple[str, ...], value: Any) -> None:
    keys = tuple(path.split(".")) if isinstance(path, str) else path
    current = item
    for key in keys[:-1]:
        current = current.setdefault(key, {})
    current[keys[-1]] = value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


# --- the generic mappings ------------------------------------------------------------------------------------


def expand(fields: Iterable[Field], attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Our attributes -> API parameters (Create* / a full Update*). Optional fields left empty are omitted."""
    out: dict[str, Any] = {}
    for f in fields:
        if not f.api or not f.writable:
            continue
        value = get_path(attrs, f.keys)
        if value is ABSENT or (f.optional and _empty(value)):
            continue
        set_path(out, f.api, f.write(value))
    return out


def flatten(fields: Iterable[Field], item: Mapping[str, Any]) -> Attrs:
    """An API answer (Get* / BatchGet*) -> our attributes, AWS's defaults folded in where it omits a field,
    so an unchanged resource diffs clean. Defaults that depend on other attributes are decided last."""
    fields = [f for f in fields if f.api]
    attrs: Attrs = {}
    later: list[Field] = []
    for f in fields:
        raw = get_path(item, f.api)
        if raw is not ABSENT and raw is not None:
            value = f.read(raw)
            if value is not None or f.default is None:
                set_path(attrs, f.keys, value)
                continue
        if f.default_from is not None:
            later.append(f)
        else:
            set_path(attrs, f.keys, f.default_for(attrs))
    for f in later:
        set_path(attrs, f.keys, f.default_for(attrs))
    return attrs


def desired(fields: Iterable[Field], source: object, **derived: Any) -> Attrs:
    """Desired attributes: `derived[name]` where given, else the spec value at `field.spec` on the model
    object `source` (the model mirrors the spec's keys), else the field's default."""
    attrs: Attrs = {}
    later: list[Field] = []
    for f in fields:
        if f.name in derived:
            set_path(attrs, f.keys, derived[f.name])
            continue
        value: Any = ABSENT
        if f.spec:
            value = source
            for part in f.spec.split("."):
                value = getattr(value, part, ABSENT)
        if value is not ABSENT and value is not None:
            set_path(attrs, f.keys, value)
        elif f.default_from is not None:
            later.append(f)
        else:
            set_path(attrs, f.keys, f.default_for(attrs))
    for f in later:
        set_path(attrs, f.keys, f.default_for(attrs))
    return attrs


def partial_update(fields: Iterable[Field], attrs: Mapping[str, Any], changed: Iterable[str]) -> dict[str, Any]:
    """The parameters of a partial Update* (UpdateCrawler): only the API fields of the changed attributes
    (top-level names), each sent whole; an optional field left empty is sent as its `clear` value."""
    changed = set(changed)
    fields = list(fields)
    full = expand(fields, attrs)
    out: dict[str, Any] = {}
    for f in fields:
        if not f.api or f.top not in changed:
            continue
        api_top = f.api.split(".", 1)[0]
        if api_top in full:
            out[api_top] = full[api_top]
        elif f.optional:
            out[api_top] = f.clear
    return out


# --- what the kinds and the engine ask of a table ------------------------------------------------------------


def immutable(fields: Iterable[Field]) -> frozenset[str]:
    return frozenset(f.top for f in fields if f.immutable)


def security(fields: Iterable[Field]) -> frozenset[str]:
    return frozenset(f.top for f in fields if f.is_security)


def sensitive(fields: Iterable[Field]) -> frozenset[str]:
    return frozenset(f.top for f in fields if f.sensitive or f.secret_key is not None)


def is_security_at(fields: Iterable[Field], keys: tuple[str, ...], before: Any, after: Any) -> bool:
    """A change from `before` to `after` at `keys` belongs in the security section: its field is flagged, or
    its field's `security_key` matches the changed entry (or an entry of a whole mapping that changed)."""
    f = field_at(fields, keys)
    if f is None:
        return False
    if f.is_security:
        return True
    if f.security_key is None:
        return False
    below = keys[len(f.keys) :]
    if below:
        return f.security_key(below[0])
    names = {str(k) for value in (before, after) if isinstance(value, Mapping) for k in value}
    old = before if isinstance(before, Mapping) else {}
    new = after if isinstance(after, Mapping) else {}
    return any(f.security_key(n) and old.get(n) != new.get(n) for n in names)


def field_at(fields: Iterable[Field], keys: tuple[str, ...]) -> Field | None:
    """The field that holds the value at `keys` (the field itself or something below it)."""
    for f in fields:
        if keys[: len(f.keys)] == f.keys:
            return f
    return None


def mask(fields: Iterable[Field], keys: tuple[str, ...], value: Any) -> Any:
    """`value` (found at `keys` in a kind's attributes) with every sensitive part replaced by MASK."""
    fields = list(fields)
    if value is None:
        return None
    f = field_at(fields, keys) if keys else None
    if f is not None:
        if f.sensitive:
            return MASK
        if f.secret_key is not None:
            below = keys[len(f.keys) :]
            if below:
                return MASK if f.secret_key(below[0]) else value
            if isinstance(value, Mapping):
                return {k: MASK if f.secret_key(str(k)) and v is not None else v for k, v in value.items()}
        return value
    if isinstance(value, Mapping):
        return {k: mask(fields, (*keys, str(k)), v) for k, v in value.items()}
    return value
