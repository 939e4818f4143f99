"""Building a plan: read live state (in parallel), decide per resource (pure, diff.py), order it.

`apply` executes exactly what this computes, so plan and apply cannot disagree: plan is apply with
the writes switched off.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from reconciler import masking
from reconciler.aws import lock
from reconciler.aws.context import AwsContext
from reconciler.engine.diff import ADOPT, BLOCKED, CONFLICT, CREATE, DELETE, NOOP, REPLACE, UPDATE, Change, decide
from reconciler.errors import ReconcilerError, UsageError
from reconciler.invocation import command
from reconciler.resources import Account, Desired, Observed, ResourceKind, all_kinds, fields, fields_of
from reconciler.resources.base import AttrChange
from reconciler.resources.bucket_policy import PLAIN_HTTP_WARNING, tls_policy_applies
from reconciler.resources.quicksight_common import service_role_note
from reconciler.spec.model import Pipeline

FORMAT_VERSION = "1"
READ_CONCURRENCY = 8

MASK = fields.MASK


@dataclass
class Plan:
    pipeline: str
    changes: list[Change]
    fingerprint: str  # of the live state this plan saw
    spec_sha256: str
    observed: dict[str, Observed | None] = field(default_factory=dict)
    #: the lock serial read before the live state (lock.observe_serial), when asked for
    serial: str | None = None
    #: what the plan could not do as the spec says, and why (e.g. no TLS-only policy on plain http)
    warnings: list[str] = field(default_factory=list)
    #: how it was made (destroy, targets, adopt, force): `apply PLANFILE` makes its fresh plan the same way
    options: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Changes per action; an object an upload prunes counts as a destroy (and in `pruned_objects`)."""
        out = {"add": 0, "change": 0, "replace": 0, "destroy": 0, "conflict": 0, "blocked": 0, "pruned_objects": 0}
        for c in self.changes:
            key = {CREATE: "add", UPDATE: "change", ADOPT: "change", REPLACE: "replace", DELETE: "destroy",
                   CONFLICT: "conflict", BLOCKED: "blocked"}.get(c.action)  # fmt: skip
            if key:
                out[key] += 1
            out["pruned_objects"] += len(c.deleted_objects)
        out["destroy"] += out["pruned_objects"]
        return out

    @property
    def has_changes(self) -> bool:
        return any(c.action != NOOP for c in self.changes)

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.action == CONFLICT]

    def to_json(self) -> dict[str, Any]:
        """The stable, versioned, machine-readable plan (secrets masked)."""
        return {
            "format_version": FORMAT_VERSION,
            "pipeline": self.pipeline,
            "spec_sha256": self.spec_sha256,
            "live_state_fingerprint": self.fingerprint,
            "summary": self.counts(),
            "warnings": [masking.mask_text(w) for w in self.warnings],
            "options": dict(self.options),
            "changes": [
                {
                    "address": c.address,
                    "kind": c.kind,
                    "name": c.name,
                    "action": c.action,
                    "reason": masking.mask_text(c.reason),
                    "attributes": [
                        {
                            "path": a.path,
                            "before": mask(c.kind, a.keys, a.before),
                            "after": mask(c.kind, a.keys, a.after),
                        }
                        for a in attribute_changes(c)
                    ],
                }
                for c in self.changes
            ],
        }


def attribute_changes(change: Change) -> list[AttrChange]:
    """What a change sets: its attribute diff, or for a create every desired attribute and tag (from nothing),
    so `plan --json` shows what a create will make (Terraform's `after` of a create)."""
    if change.action != CREATE or change.desired is None:
        return list(change.attrs)
    created = [AttrChange((key,), None, value) for key, value in change.desired.attrs.items()]
    return created + [AttrChange(("tags", key), None, value) for key, value in sorted(change.desired.tags.items())]


def mask(kind: str, keys: tuple[str, ...], value: Any) -> Any:
    """`value`, found at `keys` in the attributes of a `kind` resource, with what its field table marks
    sensitive masked (e.g. job arguments whose names are secret), at any depth, and then every
    secret-looking part of any string in it (credentials in URLs, key and token shapes: reconciler/masking.py)."""
    return masking.mask_value(fields.mask(fields_of(kind), keys, value), by_name=False)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(observed: dict[str, Observed | None], owned: dict[str, list[str]]) -> str:
    state = {
        "observed": {a: None if o is None else {"attrs": o.attrs, "tags": dict(o.tags)} for a, o in observed.items()},
        "owned": owned,
    }
    return hashlib.sha256(_canonical(state).encode()).hexdigest()


def _ordered(changes: Iterable[Change]) -> list[Change]:
    """Dependency order for creates/updates; deletes last, in reverse dependency order."""
    forward = sorted((c for c in changes if c.action not in {DELETE, BLOCKED}), key=lambda c: (c.level, c.address))
    backward = sorted((c for c in changes if c.action in {DELETE, BLOCKED}), key=lambda c: (-c.level, c.address))
    return forward + backward


def _address_guess(target: str, kinds: list[str]) -> str | None:
    """The address `target` most likely means: its kind spelled as a known one (`crawlers.x` -> `crawler.x`)."""
    kind, _, name = target.partition(".")
    close = difflib.get_close_matches(kind.lower().rstrip("s"), kinds, n=1, cutoff=0.6)
    return f"{close[0]}.{name}" if close and name else None


def select_targets(kinds: list[ResourceKind], targets: frozenset[str]) -> tuple[set[str], set[str]]:
    """(kinds of the targeted resources, kinds they depend on, transitively). Every declared resource of a
    dependency kind is planned along; of a targeted kind only the named ones."""
    by_name = {k.kind: k for k in kinds}
    unknown = sorted(t for t in targets if t.split(".", 1)[0] not in by_name or "." not in t)
    if unknown:
        guesses = [guess for t in unknown if (guess := _address_guess(t, sorted(by_name)))]
        raise UsageError(
            f"--target {', '.join(unknown)}: not an address (KIND.NAME with KIND one of {', '.join(sorted(by_name))})",
            hint=f"did you mean {', '.join(guesses)}?" if guesses else f"`{command('plan')}` lists the addresses",
        )
    target_kinds = {t.split(".", 1)[0] for t in targets}
    needed: set[str] = set()
    pending = [dep for k in target_kinds for dep in by_name[k].depends_on]
    while pending:
        kind = pending.pop()
        if kind not in needed:
            needed.add(kind)
            pending.extend(by_name[kind].depends_on)
    return target_kinds, needed


def build_plan(
    pipeline: Pipeline,
    ctx: AwsContext,
    *,
    kinds: list[ResourceKind] | None = None,
    adopt: frozenset[str] = frozenset(),
    force: bool = False,
    destroy: bool = False,
    observe_serial: bool = False,
    targets: frozenset[str] = frozenset(),
) -> Plan:
    """Read live state and decide every change. `destroy=True` plans the removal of everything we own.

    `observe_serial=True` first reads the lock serial (one listing), so that an apply can later tell
    whether another reconciler may have changed anything since this plan (lock.Held.unchanged_since).

    `targets` (`--target ADDRESS`, as in Terraform) limits the plan to those resources and the kinds they
    depend on; undeclared resources are planned for deletion only when targeted by address."""
    kinds = kinds if kinds is not None else all_kinds()
    serial = lock.observe_serial(ctx, pipeline.bucket.name) if observe_serial else None  # before any read
    s3_endpoint = ctx.resolved_endpoint("s3")  # boto3's whole chain, not --endpoint-url alone
    tls_only = tls_policy_applies(s3_endpoint)
    account = Account(lambda: ctx.account_id, ctx.region, ctx.partition, tls_only=tls_only)
    warnings = [] if tls_only else [PLAIN_HTTP_WARNING.format(url=s3_endpoint)]
    deleting = kinds
    if targets:  # only the kinds involved are looked at (and only they may need the account id)
        target_kinds, needed = select_targets(kinds, targets)
        deleting = [k for k in kinds if k.kind in target_kinds]
        kinds = [k for k in kinds if k.kind in target_kinds | needed]
    desired: list[tuple[ResourceKind, Desired]] = []
    if not destroy:
        for kind in kinds:
            desired.extend((kind, d) for d in kind.desired(pipeline, account))
    if targets:
        desired = [(k, d) for k, d in desired if d.address in targets or k.kind in needed]

    def read_batched(kind: ResourceKind) -> tuple[dict[str, Observed | None], list[str]]:
        mine = [d for k, d in desired if k is kind]
        kind.prefetch(ctx, mine, pipeline)
        return {d.address: kind.read(ctx, d.name, pipeline) for d in mine}, kind.list_owned(ctx, pipeline)

    # Bounded concurrency; batched kinds read all their resources in one task, the others one per
    # resource; identical reads (a tag read needed by read and by list_owned) are sent once.
    with ctx.shared_reads(), ThreadPoolExecutor(max_workers=READ_CONCURRENCY) as pool:
        batches = {kind.kind: pool.submit(read_batched, kind) for kind in kinds if kind.batched}
        reads = {d.address: pool.submit(kind.read, ctx, d.name, pipeline) for kind, d in desired if not kind.batched}
        listed = [kind for kind in kinds if not kind.batched and kind in deleting]
        owned_futures = {kind.kind: pool.submit(kind.list_owned, ctx, pipeline) for kind in listed}
        observed = {address: future.result() for address, future in reads.items()}
        owned = {k: sorted(f.result()) for k, f in owned_futures.items()}
        for name, batch in batches.items():
            batch_observed, batch_owned = batch.result()
            observed.update(batch_observed)
            owned[name] = sorted(batch_owned)
    observed = {d.address: observed[d.address] for _, d in desired}  # declaration order, as before
    owned = {kind.kind: owned.get(kind.kind, []) for kind in kinds}
    if targets:
        owned = {k: [n for n in names if f"{k}.{n}" in targets] for k, names in owned.items()}
        declared_now = {d.address for _, d in desired} | {f"{k}.{n}" for k, names in owned.items() for n in names}
        missing = sorted(targets - declared_now)
        if missing:
            raise ReconcilerError(
                f"--target {', '.join(missing)}: no declared resource, and none this pipeline owns, has that address",
                hint=f"addresses are KIND.NAME as `{command('plan')}` prints them, e.g. upload.raw/car_brands/",
            )

    changes: list[Change] = []
    declared = set()
    for kind, d in desired:
        declared.add(d.address)
        seen = observed[d.address]
        # `--adopt all` takes over what nobody owns; a resource another pipeline owns, or one serving this pipeline
        # in another region (resources/role.py), only by its own address.
        other_owner = seen is not None and (seen.owner() not in (None, "", pipeline.name) or seen.elsewhere is not None)
        changes.append(
            decide(kind.kind, kind.level, kind.immutable, d, seen, pipeline.name,
                   adopt=d.address in adopt or ("all" in adopt and not other_owner))
        )  # fmt: skip
    for kind in kinds:
        for name in owned[kind.kind]:
            if f"{kind.kind}.{name}" in declared:
                continue
            reason = kind.blocked_delete_reason(ctx, name, pipeline, force=force)
            if reason:
                changes.append(Change(kind.kind, name, BLOCKED, kind.level, reason=reason))
            else:
                why = "destroy requested" if destroy else "tagged as this pipeline's but no longer declared"
                changes.append(Change(kind.kind, name, DELETE, kind.level, reason=why))
    for address, seen in observed.items():  # what a kind reports beside the diff (an upload's stale objects)
        warnings += [f"{address}: {note}" for note in (seen.notes if seen is not None else ())]
    if (qs_note := service_role_note(pipeline)) is not None:  # resources/quicksight_common.py
        warnings.append(qs_note)
    return Plan(
        pipeline=pipeline.name,
        changes=_ordered(changes),
        fingerprint=fingerprint(observed, owned),
        spec_sha256=pipeline.spec_sha256,
        observed=observed,
        serial=serial,
        warnings=warnings,
        options={"destroy": destroy, "targets": sorted(targets), "adopt": sorted(adopt), "force": force},
    )
