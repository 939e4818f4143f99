"""The local side of uploads: file listing, symlink guard, hash cache (no server needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.resources.upload import local_files
from reconciler.resources.upload_cache import HashCache, sha256_file
from reconciler.spec.model import Upload


def upload_of(root: Path, allow: bool = False) -> Upload:
    return Upload(source=root, source_text=str(root), prefix="raw/", is_dir=True, allow_outside_project=allow)


def test_directory_upload_keeps_the_layout(tmp_path: Path) -> None:
    (tmp_path / "data" / "q=1").mkdir(parents=True)
    (tmp_path / "data" / "q=1" / "a.csv").write_text("x")
    (tmp_path / "data" / "b.csv").write_text("y")
    assert list(local_files(upload_of(tmp_path / "data"))) == ["raw/b.csv", "raw/q=1/a.csv"]


def test_symlink_out_of_the_directory_is_refused_unless_allowed(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "secret.txt").write_text("do not upload")
    os.symlink(tmp_path / "secret.txt", tmp_path / "data" / "innocent.csv")
    with pytest.raises(ReconcilerError, match="links outside"):
        local_files(upload_of(tmp_path / "data"))
    assert list(local_files(upload_of(tmp_path / "data", allow=True))) == ["raw/innocent.csv"]


def test_hash_cache_rereads_only_changed_files(tmp_path: Path) -> None:
    data = tmp_path / "a.csv"
    data.write_text("one")
    cache_file = tmp_path / ".reconciler" / "hash-cache.json"
    cache = HashCache(cache_file)
    assert cache.sha256(data) == sha256_file(data)
    cache.save()

    warm = HashCache(cache_file)
    assert warm.sha256(data) == sha256_file(data)
    assert (warm.hits, warm.misses) == (1, 0)

    data.write_text("two, and longer")  # size and mtime change
    assert warm.sha256(data) == sha256_file(data)
    assert warm.misses == 1
