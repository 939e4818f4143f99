"""Resource kinds, in dependency order. Adding a kind: one module and one line here."""

from __future__ import annotations

from reconciler.resources.base import Account, AttrChange, Desired, Observed, ResourceKind
from reconciler.resources.bucket import BucketKind
from reconciler.resources.crawler import CrawlerKind
from reconciler.resources.database import DatabaseKind
from reconciler.resources.job import JobKind
from reconciler.resources.role import RoleKind
from reconciler.resources.trigger import TriggerKind
from reconciler.resources.upload import UploadKind
from reconciler.resources.workflow import WorkflowKind


def all_kinds() -> list[ResourceKind]:
    """Fresh instances (uploads keep per-plan state), lowest dependency level first."""
    kinds: list[ResourceKind] = [
        BucketKind(), UploadKind(), RoleKind(), DatabaseKind(), CrawlerKind(), JobKind(), WorkflowKind(),
        TriggerKind(),
    ]  # fmt: skip
    return sorted(kinds, key=lambda k: k.level)


__all__ = ["Account", "AttrChange", "Desired", "Observed", "ResourceKind", "all_kinds"]
