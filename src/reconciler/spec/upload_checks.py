"""The checks of spec.uploads: local files inside the project (or allowed outside it), their object keys valid,
unique and clear of the keys the tool reserves. Like every check (spec/checks.py), they work on the
interpolated document and return `Finding`s."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from reconciler.invocation import generator_command
from reconciler.spec import reserved, rules
from reconciler.spec.findings import DocPath, Finding, describe, items_of, located, text_at

MAX_LISTED_FILES = 100_000  # a directory upload larger than this is not listed for the script check
_MAX_REPORTED = 5  # per upload, for per-file problems, so one bad directory cannot flood the report


def resolve_local(source: str, project_dir: Path) -> Path:
    """A path from the spec, relative to the project directory (the spec file's directory), resolved."""
    return (project_dir / source).resolve()


def is_inside(path: Path, project_dir: Path) -> bool:
    return path == project_dir or path.is_relative_to(project_dir)


def upload_files(source: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """(object key, local file) for every file a directory upload sends, in a stable order.

    Every regular file below `source`, keys `prefix + relative path` with '/' separators. Symlinked directories
    are not descended into (no loops); symlinks to files are listed like files. resources/upload.py agrees.
    """
    for folder, dirnames, filenames in os.walk(source, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(folder) / name
            if path.is_file():
                yield prefix + path.relative_to(source).as_posix(), path


def file_upload_key(resolved_source: Path, prefix: str) -> str:
    """The object key of a single-file upload: the prefix plus the (resolved) file's name, as the uploader sends it."""
    return prefix + resolved_source.name


@dataclass
class UploadIndex:
    keys: dict[str, int]  # object key -> index of the upload producing it
    unknown_prefixes: list[str]  # uploads we could not list: any key below these may exist
    complete: bool = True  # False when an upload is too broken to say what it produces
    directories: dict[int, str] = dataclass_field(default_factory=dict)  # index of a directory upload -> its prefix

    def produces(self, key: str) -> bool:
        if not self.complete:
            return True  # the broken upload is reported already; do not guess about scripts
        return key in self.keys or any(key.startswith(prefix) for prefix in self.unknown_prefixes)


def source_path(
    path: DocPath, source: str, project_dir: Path, allow_outside: bool, what: str
) -> tuple[Path | None, list[Finding]]:
    """Resolve a local path from the spec and check it stays in the project; None when it cannot be used."""
    if any(rules.is_control(c) for c in source):
        return None, [Finding(path, "must not contain control characters")]
    try:
        resolved = resolve_local(source, project_dir)
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop
        return None, [Finding(path, f"cannot be resolved: {exc}")]
    if not allow_outside and not is_inside(resolved, project_dir):
        hint = "; set allow_outside_project: true on this upload to allow it" if what == "upload" else ""
        return None, [Finding(path, f"points outside the project directory {project_dir} (to {resolved}){hint}")]
    return resolved, []


def _check_directory_upload(
    path: DocPath, index: int, root: Path, prefix: str, project_dir: Path, allow_outside: bool, listing: UploadIndex
) -> list[Finding]:
    findings: list[Finding] = []
    bad_keys: list[str] = []
    count = 0
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            entry = Path(folder) / name
            if not entry.is_symlink():
                continue
            try:
                target = entry.resolve()
            except (OSError, RuntimeError):
                target = None
            if target is None or not target.exists():
                findings.append(Finding(path, f"contains a broken symlink {entry}"))
            elif not allow_outside and not is_inside(target, project_dir):
                findings.append(
                    Finding(
                        path,
                        f"contains a symlink {entry} pointing outside the project directory (to {target}); "
                        "set allow_outside_project: true on this upload to allow it",
                    )
                )
        count += len(filenames) + len(dirnames)
        if count > MAX_LISTED_FILES:
            listing.unknown_prefixes.append(prefix)
            break
        for name in filenames:
            if not (Path(folder) / name).is_file():
                continue  # broken symlinks (reported above) and special files are not uploaded
            key = prefix + (Path(folder) / name).relative_to(root).as_posix()
            if rules.object_key_problems(key):
                bad_keys.append(key)
            elif key in listing.keys and listing.keys[key] != index:
                findings.append(
                    Finding(path, f"produces the key {key!r}, which spec.uploads[{listing.keys[key]}] also produces")
                )
            else:
                listing.keys[key] = index
    for key in bad_keys[:_MAX_REPORTED]:
        findings.append(
            Finding(
                path,
                f"contains a file whose object key {describe(key)} is invalid: "
                + "; ".join(rules.object_key_problems(key)),
            )
        )
    if len(bad_keys) > _MAX_REPORTED:
        findings.append(Finding(path, f"and {len(bad_keys) - _MAX_REPORTED} more files with invalid keys"))
    return findings[: 2 * _MAX_REPORTED]


def _reserved_prefix_problems(prefix: str, keys: reserved.ReservedIndex) -> list[str]:
    """An upload prefix that lies inside one of the tool's reserved prefixes."""
    return [
        f"{prefix!r} lies inside {r.key!r}, {r.why}: no upload may write there (choose another prefix)"
        for r in keys.covering(prefix)
        if r.prefix
    ]


def _check_upload_keys(listing: UploadIndex, keys: reserved.ReservedIndex, refused: set[int]) -> list[Finding]:
    """Uploaded object keys that are (or lie below) one of the tool's reserved keys, at most _MAX_REPORTED per
    upload; `refused` uploads were reported at their prefix already."""
    findings: list[Finding] = []
    per_upload: dict[int, int] = {}
    for key, index in sorted(listing.keys.items()):
        if index in refused:
            continue
        for r in keys.covering(key):
            if r.covers(key):
                per_upload[index] = per_upload.get(index, 0) + 1
                if per_upload[index] <= _MAX_REPORTED:
                    findings.append(
                        Finding(
                            ("spec", "uploads", index, "source"),
                            f"would upload {key!r}, which is reserved: {r.why}; the tool writes it itself "
                            "(remove that file from the upload or choose another prefix)",
                        )
                    )
                break
    return findings


def check_uploads(
    spec: dict[str, Any], project_dir: Path, keys: reserved.ReservedIndex | None = None
) -> tuple[list[Finding], UploadIndex]:
    findings: list[Finding] = []
    listing = UploadIndex({}, [])
    refused: set[int] = set()
    for i, upload in items_of(spec.get("uploads")):
        base: DocPath = ("spec", "uploads", i)
        prefix = text_at(upload, "prefix")
        prefix = "" if "prefix" not in upload else prefix
        prefix_problems = rules.key_prefix_problems(prefix) if prefix is not None else []
        if prefix is not None and not prefix_problems:
            inside = _reserved_prefix_problems(prefix, keys or reserved.ReservedIndex([]))
            findings += located((*base, "prefix"), inside)
            if inside:
                refused.add(i)
        findings += located((*base, "prefix"), prefix_problems)
        source = text_at(upload, "source")
        if source is None or prefix is None or prefix_problems:
            listing.complete = False
            continue
        allow = upload.get("allow_outside_project") is True
        resolved, problems = source_path((*base, "source"), source, project_dir, allow, "upload")
        findings += problems
        if resolved is None:
            listing.unknown_prefixes.append(prefix)
            continue
        if resolved.is_dir():
            listing.directories[i] = prefix
            findings += _check_directory_upload((*base, "source"), i, resolved, prefix, project_dir, allow, listing)
        elif resolved.is_file():
            key = file_upload_key(resolved, prefix)
            if source.endswith("/"):
                findings.append(Finding((*base, "source"), f"ends with '/' but {source!r} is a file"))
                listing.keys.setdefault(key, i)  # reported once here, not again as a missing script
            elif key in listing.keys:
                findings.append(
                    Finding(
                        (*base, "source"),
                        f"produces the key {key!r}, which spec.uploads[{listing.keys[key]}] also produces",
                    )
                )
            else:
                listing.keys[key] = i
        elif resolved.exists():
            findings.append(Finding((*base, "source"), f"{source!r} is neither a regular file nor a directory"))
        else:
            generate = generator_command(resolved) if not Path(source).suffix else None
            also = f"; to generate the example's raw data there: {generate}" if generate else ""
            findings.append(Finding((*base, "source"), f"{source!r} does not exist (looked for {resolved}){also}"))
            listing.unknown_prefixes.append(prefix)
    findings += _check_upload_keys(listing, keys or reserved.ReservedIndex([]), refused)
    return findings, listing
