"""Which planned changes destroy something: deletes, replacements (delete, then create), objects an upload
prunes and updates that lose data. `reconcile run` applies such a plan only with `--allow-destroy` or a yes on
a terminal.

Pure: looks only at the plan. A blocked delete (a bucket holding objects, without --force) is not executed,
so it is not destructive; a conflict is refused by apply anyway.
"""

from __future__ import annotations

from reconciler.engine.diff import DELETE, REPLACE, UPDATE, Change

SHOWN_KEYS = 5  # keys named in a line; the rest are counted


def destructive(changes: list[Change]) -> list[str]:
    """One line per change that destroys something; empty when the plan destroys nothing."""
    found: list[str] = []
    for change in changes:
        if change.action == DELETE:
            found.append(f"{change.address} will be destroyed")
        elif change.action == REPLACE:
            why = f" ({change.reason})" if change.reason else ""
            found.append(f"{change.address} must be replaced: destroyed, then created again{why}")
        elif change.deleted_objects:
            keys = change.deleted_objects
            more = f" (and {len(keys) - SHOWN_KEYS} more)" if len(keys) > SHOWN_KEYS else ""
            found.append(
                f"{change.address} deletes {len(keys)} object(s) its source no longer has (prune: true): "
                + ", ".join(keys[:SHOWN_KEYS]) + more
            )
        elif change.action == UPDATE and change.kind == "bucket":
            for attr in change.attrs:
                # PutBucketVersioning Suspended: "the existing object versions remain, but new writes replace the
                # null version" (Amazon S3 User Guide, "Working with objects in a versioning-suspended bucket"),
                # so every overwrite from then on loses the object it replaces.
                if attr.keys == ("versioning",) and attr.before is True and not attr.after:
                    found.append(f"{change.address} versioning: suspended, overwritten objects are lost from now on")
    return found
