"""One statement of an identity policy, with why it is granted: what every kind's operator statements
(ResourceKind.operator_statements) are made of. A leaf: it imports nothing from the tool, so the kinds and
permissions.py both use it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    why: str
    condition: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Sid": self.sid, "Effect": "Allow"}
        out |= {"Action": sorted(set(self.actions)), "Resource": sorted(set(self.resources))}
        if self.condition:
            out["Condition"] = self.condition
        return out
