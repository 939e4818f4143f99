"""The AWS regions a spec may name, from botocore's own partition data (no network).

botocore ships `botocore/data/partitions.json` (the partitions of the endpoint rule sets: each partition's
regions and its `regionRegex`) and the older `botocore/data/endpoints.json` (per-service endpoints, with a
`regions` map per partition). partitions.json is read, endpoints.json only when it is missing; the
`*-global` pseudo-regions of partitions.json are not regions a bucket or a Glue job can live in.
A region AWS opened after the installed botocore was released is unknown until botocore is upgraded
(`pip install -U botocore`).
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any


def _regions_of(document: Any, key: str) -> set[str]:
    found: set[str] = set()
    partitions = document.get("partitions", []) if isinstance(document, dict) else []
    for partition in partitions:
        regions = partition.get(key, {}) if isinstance(partition, dict) else {}
        found.update(str(r) for r in regions if not str(r).endswith("-global"))
    return found


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of every partition botocore knows (aws, aws-cn, aws-us-gov, the ISO partitions, ...)."""
    from botocore.loaders import Loader

    loader = Loader()
    for name in ("partitions", "endpoints"):  # endpoints.json (ten times larger) only for an older botocore
        try:
            found = _regions_of(loader.load_data(name), "regions")
        except Exception:  # botocore's DataNotFoundError, or a file it cannot parse
            continue
        if found:
            return frozenset(found)
    return frozenset()


@functools.cache
def _partition_documents() -> tuple[dict[str, Any], ...]:
    from botocore.loaders import Loader

    try:
        document = Loader().load_data("partitions")
    except Exception:  # botocore's DataNotFoundError, or a file it cannot parse
        return ()
    partitions = document.get("partitions", []) if isinstance(document, dict) else []
    return tuple(p for p in partitions if isinstance(p, dict) and p.get("id"))


def known_partitions() -> tuple[str, ...]:
    """The ARN partitions botocore's partitions.json names (aws, aws-cn, aws-us-gov, aws-eusc, aws-iso, ...);
    the three classic ones when it cannot be read."""
    found = tuple(str(p["id"]) for p in _partition_documents())
    return found or ("aws", "aws-cn", "aws-us-gov")


def partition_of(region: str) -> str | None:
    """The ARN partition of `region` from botocore's partitions.json: the partition listing it in `regions`,
    else the one whose `regionRegex` matches (a region newer than the data); None when none does. eusc-de-east-1
    is aws-eusc, us-iso-east-1 aws-iso, us-isob-east-1 aws-iso-b, never aws."""
    partitions = _partition_documents()
    for partition in partitions:
        if region in (partition.get("regions") or {}):
            return str(partition["id"])
    for partition in partitions:
        pattern = partition.get("regionRegex")
        if isinstance(pattern, str) and re.fullmatch(pattern, region):
            return str(partition["id"])
    return None


def botocore_version() -> str:
    import botocore

    return str(botocore.__version__)


def region_problems(region: str) -> list[str]:
    """Empty when botocore knows `region`; else one message with the closest known region."""
    known = known_regions()
    if not known or region in known:  # no data at all: say nothing rather than refuse every region
        return []
    close = difflib.get_close_matches(region, sorted(known), n=1, cutoff=0.6) if len(region) <= 64 else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = repr(region) if len(region) <= 60 else repr(region[:60]) + "..."
    return [
        f"{shown} is not an AWS region{hint}; the regions are those of botocore {botocore_version()}'s partition "
        "data (a region opened since needs a newer botocore: pip install -U botocore)"
    ]
