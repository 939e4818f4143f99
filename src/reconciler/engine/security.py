"""Which planned changes widen access (`cdk deploy --require-approval broadening`, for our kinds).

Pure: looks only at the before/after values in a plan. A change *broadens* when, for an existing
resource, it lets more principals do more actions on more resources than before, or removes a guard
(Block Public Access, a Deny statement, default encryption, BucketOwnerEnforced). Creating a resource
is not broadening: there was nothing to compare with, and the plan shows it in its security section.
Nor is giving one of our resources a policy it has none of at all (before is absent): that is the rest of
a create that did not finish (a crash or an AccessDenied between CreateRole and PutRolePolicy), and the
spec's policy was what the create meant; asking again would stop every resumed CI apply. It is still
listed in the security section. Changing or extending an existing policy is judged statement by statement.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.engine.diff import ADOPT, CREATE, REPLACE, UPDATE, Change
from reconciler.resources import fields_of
from reconciler.resources.base import AttrChange
from reconciler.resources.fields import field_at, is_security_at
from reconciler.resources.guards import as_policy, policy_broadening, policy_document, policy_tightening

__all__ = ["SecurityEffect", "broadening", "policy_broadening", "security_effect"]

WIDENS = "widens"
TIGHTENS = "tightens"
BOTH = "widens and tightens"
NEITHER = "neither widens nor tightens"
ENTRY = "loads code that Glue runs with the job's role"


@dataclass(frozen=True)
class SecurityEffect:
    """How one changed security attribute moves access, for the plan's security section."""

    label: str  # WIDENS, TIGHTENS, BOTH or NEITHER
    widens: tuple[str, ...] = ()
    tightens: tuple[str, ...] = ()
    #: a policy where there was none: the rest of an unfinished create, applied without asking (see above)
    restores: bool = False


def security_effect(change: Change, attr: AttrChange) -> SecurityEffect | None:
    """Whether the change of `attr` widens or tightens access (None: not a security attribute).

    Policy documents are compared grant by grant in both directions; other guards by their field's
    `widens` rule, run forwards (widens) and backwards (the reverse change would widen: this one tightens).
    Unlike `broadening`, a policy given to a resource that had none counts as widening here (`restores`):
    the plan says what access it grants even though it is not asked about."""
    f = field_at(fields_of(change.kind), attr.keys)
    if f is not None and not f.is_security and is_security_at([f], attr.keys, attr.before, attr.after):
        return SecurityEffect(ENTRY)  # e.g. a job argument that loads code (resources/fields.py security_key)
    if f is None or not f.is_security:
        return None
    keys, before, after = attr.keys, attr.before, attr.after
    widens: list[str] = []
    tightens: list[str] = []
    tightened = restores = False
    if f.widens is policy_document:
        old, new = as_policy(keys, before), as_policy(keys, after)
        widens, tightens = policy_broadening(old, new), policy_tightening(old, new)
        tightened = bool(tightens)
        restores = len(keys) == 1 and before is None and bool(widens)
    elif f.widens is not None:
        widens = f.widens(keys, before, after)
        # the rule's reasons are worded for widening: a guard put back is labelled without one
        tightened = not widens and bool(f.widens(keys, after, before))
    label = BOTH if widens and tightened else WIDENS if widens else TIGHTENS if tightened else NEITHER
    return SecurityEffect(label, tuple(widens), tuple(tightens), restores)


def created_entries(change: Change) -> list[str]:
    """The attribute paths of a resource to be created whose entries are security-relevant by their field's
    `security_key` (e.g. `default_arguments.--extra-py-files`): a create has no attribute changes to label,
    but what code it loads belongs in the security section all the same."""
    if change.action != CREATE or change.desired is None:
        return []
    found: list[str] = []
    for f in fields_of(change.kind):
        value = change.desired.attrs.get(f.top) if f.security_key is not None else None
        if isinstance(value, dict):
            found += [f"{f.name}.{key}" for key in sorted(value) if f.security_key and f.security_key(str(key))]
    return found


def broadening(changes: list[Change]) -> list[str]:
    """One line per way the plan widens access; empty when it does not. Which attributes can widen access,
    and how, is the `widens` rule of their field in the kind's field table (resources/guards.py)."""
    found: list[str] = []
    for change in changes:
        if change.action not in {UPDATE, REPLACE, ADOPT}:
            continue
        table = fields_of(change.kind)
        for attr in change.attrs:
            f = field_at(table, attr.keys)
            if f is None or f.widens is None:
                continue
            where = f"{change.address} {attr.path}"
            found += [f"{where}: {reason}" for reason in f.widens(attr.keys, attr.before, attr.after)]
    return found
