"""Whether the objects under a prefix are fit for a manifest URIPrefix (`check_prefix_objects`), checked before
a run is published. Apart from the manifest's own rules (manifest_checks.py) because it judges the data in the
bucket, not the document.

What QuickSight documents (user guide, "Supported formats for Amazon S3 manifest files"): "All files in a
specified bucket or folder are imported. QuickSight recursively retrieves files from child folders." A prefix
therefore imports its subfolders too: anything below it that is not data (Spark's `_SUCCESS`, Hadoop `.crc`
files, a `_temporary/` folder, an older Parquet copy) is imported with it. `check_prefix_objects` looks for
exactly that. Every file a manifest names must have the same format and the same number and type of columns.
"""

from __future__ import annotations

from reconciler.spec.manifest_checks import UNREADABLE_FORMATS

_MAX_LISTED = 5  # per kind of problem in check_prefix_objects, so one bad prefix cannot flood the output


# --- the data behind the prefix ------------------------------------------------------------------------------


def _non_data_reason(name: str) -> str | None:
    """Why an object named `name` (the last part of its key) is not a data file, with a hint; None if it may be."""
    lowered = name.lower()
    if name.endswith("_$folder$"):
        return "is a folder marker object; delete it"
    if lowered.endswith(".crc"):
        return (
            "is a Hadoop checksum file, written when Spark writes to a local file system; do not copy .crc files to S3"
        )
    if name.startswith("_"):
        return (
            "is a job marker or metadata file (a name starting with '_'); for Spark's _SUCCESS set "
            "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs=false in the job"
        )
    if name.startswith("."):
        return "is a hidden file"
    for suffix, format_name in UNREADABLE_FORMATS.items():
        if lowered.endswith(suffix):
            return f"is a {format_name} file, which QuickSight cannot read; keep it out of the CSV prefix"
    return None


def _listed(items: list[str]) -> str:
    shown = ", ".join(repr(item) for item in items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def check_prefix_objects(keys: list[str], prefix: str) -> list[str]:
    """Problems with the objects under `prefix` that a manifest URIPrefix would make QuickSight import.

    `keys` are full object keys as a recursive listing returns them (ListObjectsV2 with Prefix=prefix and no
    Delimiter). QuickSight imports every object below a prefix, subfolders included, and every file must be
    data of the same shape. So the prefix must hold data files directly under it and nothing else: no marker
    or checksum files, no subfolders, and not nothing at all. [] means the prefix is fit to point at.
    """
    if prefix and not prefix.endswith("/"):
        return [f"the prefix {prefix!r} must end with '/' (a folder), e.g. {prefix + '/'!r}"]
    problems: list[str] = []
    outside = [key for key in keys if not key.startswith(prefix)]
    if outside:
        problems.append(f"the listing holds keys that are not under {prefix!r}: {_listed(outside)}")
    data: list[str] = []
    subfolders: dict[str, list[str]] = {}
    non_data: dict[str, list[str]] = {}
    for key in keys:
        if not key.startswith(prefix):
            continue
        relative = key[len(prefix) :]
        if relative == "":
            continue  # the zero-byte "folder" object some tools create for the prefix itself
        folder, slash, _ = relative.partition("/")
        if slash:
            subfolders.setdefault(prefix + folder + "/", []).append(key)
            continue
        reason = _non_data_reason(relative)
        if reason is None:
            data.append(key)
        else:
            non_data.setdefault(reason, []).append(key)
    for reason, found in non_data.items():
        noun = "it" if len(found) == 1 else "them"
        problems.append(f"{_listed(found)}: {reason} (QuickSight would import {noun} as data)")
    if subfolders:
        below = [key for found in subfolders.values() for key in found]
        problems.append(
            f"{prefix!r} has subfolders ({_listed(sorted(subfolders))}): QuickSight reads a prefix recursively "
            f"and would import the {len(below)} object(s) in them too, e.g. {below[0]!r}; the job should write "
            "its part files directly under the prefix and nothing below it"
        )
    if not data:
        if not keys:
            problems.append(
                f"nothing is stored under {prefix!r}: the manifest would point at no data (did the job write its "
                "CSV copy there?)"
            )
        else:
            problems.append(f"no data file sits directly under {prefix!r}: the manifest would point at no data")
    return problems
