"""Resource kinds. Adding a kind: docs/adding-a-kind.md (the module with its FIELDS and hooks, one entry in
KINDS here, its schema section and its spec model class). The shared places (permissions.py, the role's
policy, the Tagging API filter, engine/running.py, the acceptance harness) collect from KINDS."""

from __future__ import annotations

from reconciler.resources.base import Account, AttrChange, Desired, Observed, ResourceKind, register
from reconciler.resources.bucket import BucketKind
from reconciler.resources.crawler import CrawlerKind
from reconciler.resources.database import DatabaseKind
from reconciler.resources.event_rule import EventRuleKind
from reconciler.resources.fields import Field
from reconciler.resources.job import JobKind
from reconciler.resources.quicksight import DataSourceKind
from reconciler.resources.quicksight_dataset import DataSetKind
from reconciler.resources.role import RoleKind
from reconciler.resources.security_configuration import SecurityConfigurationKind
from reconciler.resources.topic import TopicKind
from reconciler.resources.trigger import TriggerKind
from reconciler.resources.upload import UploadKind
from reconciler.resources.workflow import WorkflowKind

KINDS: tuple[type[ResourceKind], ...] = (
    BucketKind, UploadKind, RoleKind, DatabaseKind, CrawlerKind, JobKind, WorkflowKind, TriggerKind, TopicKind,
    EventRuleKind,
    DataSourceKind, DataSetKind,
    SecurityConfigurationKind,
)  # fmt: skip
register(KINDS)  # what role.py (the role's policy) and base.py (the Tagging API filter) collect from


def all_kinds() -> list[ResourceKind]:
    """Fresh instances (uploads keep per-plan state), lowest dependency level first."""
    return sorted((k() for k in KINDS), key=lambda k: k.level)


def fields_of(kind: str) -> tuple[Field, ...]:
    """The field table of a kind by its name ("crawler"); empty for an unknown kind."""
    return next((k.fields for k in KINDS if k.kind == kind), ())


__all__ = ["KINDS", "Account", "AttrChange", "Desired", "Field", "Observed", "ResourceKind", "all_kinds", "fields_of"]
