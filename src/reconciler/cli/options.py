"""Option and argument types whose malformed values are usage errors (exit 64) with a did-you-mean."""

from __future__ import annotations

import re
from typing import Any

import click

from reconciler.quarterly.quarters import LABEL

#: what people type for a quarter instead of YYYY-QN: 2026Q3, 2026-q3, 2026 Q3, Q3-2026, Q3 2026, 2026-3
_LOOSE_QUARTER = (
    re.compile(r"^\s*(?P<year>[0-9]{4})\s*[-_/ ]?\s*[Qq]?(?P<q>[1-4])\s*$"),
    re.compile(r"^\s*[Qq](?P<q>[1-4])\s*[-_/ ]?\s*(?P<year>[0-9]{4})\s*$"),
)


def quarter_suggestion(value: str) -> str | None:
    """The YYYY-QN label `value` most likely means, or None."""
    for pattern in _LOOSE_QUARTER:
        found = pattern.match(value)
        if found:
            return f"{found['year']}-Q{found['q']}"
    return None


class QuarterType(click.ParamType[str]):
    """A quarter label, YYYY-QN (2026-Q3)."""

    name = "YYYY-QN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if LABEL.match(text):
            return text
        suggestion = quarter_suggestion(text)
        hint = f" Did you mean {suggestion}?" if suggestion else " A quarter is written YYYY-QN, e.g. 2026-Q3."
        self.fail(f"{text!r} is not a quarter.{hint}", param, ctx)


QUARTER = QuarterType()
