"""Resource kinds, in dependency order. Adding a kind: one module and one line here."""

from __future__ import annotations

from .base import Account, AttrChange, Desired, Observed, ResourceKind
from .bucket import BucketKind
from .crawler import CrawlerKind
from .database import DatabaseKind
from .job import JobKind
from .role import RoleKind
from .trigger import TriggerKind
from .upload import UploadKind
from .workflow import WorkflowKind


def all_kinds() -> list[ResourceKind]:
    """Fresh instances (uploads keep per-plan state), lowest dependency level first."""
    kinds: list[ResourceKind] = [
        BucketKind(), UploadKind(), RoleKind(), DatabaseKind(), CrawlerKind(), JobKind(), WorkflowKind(),
        TriggerKind(),
    ]  # fmt: skip
    return sorted(kinds, key=lambda k: k.level)


__all__ = ["Account", "AttrChange", "Desired", "Observed", "ResourceKind", "all_kinds"]
