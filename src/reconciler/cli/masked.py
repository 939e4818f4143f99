"""The console every command prints through: each string passes `reconciler.masking.mask_text` first, so
no message, hint, plan line or event a person sees can carry a secret-looking value."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from reconciler.masking import mask_text


class MaskingConsole(Console):
    """A rich Console whose `print` masks secret-looking parts of every string it is given."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(mask_text(o) if isinstance(o, str) else o for o in objects), **kwargs)
