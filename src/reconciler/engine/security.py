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

from reconciler.engine.diff import ADOPT, REPLACE, UPDATE, Change
from reconciler.resources import fields_of
from reconciler.resources.fields import field_at
from reconciler.resources.guards import policy_broadening

__all__ = ["broadening", "policy_broadening"]


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
