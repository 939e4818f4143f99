"""A Spark job run under a uid without a passwd entry (containers started with --user) gets one through
nss_wrapper: the C library's lookups, which the JVM's user.home and Hadoop's login use, then find it."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from pathlib import Path

from reconciler_local.glue import identity


def unused(lookup: str, start: int = 54321) -> int:
    number = start
    while True:
        try:
            pwd.getpwuid(number) if lookup == "passwd" else grp.getgrgid(number)
        except KeyError:
            return number
        number += 1


def test_a_uid_without_passwd_entry_gets_one_with_its_home(tmp_path: Path) -> None:
    uid, gid = unused("passwd"), unused("group")
    home = tmp_path / "home"
    home.mkdir()
    variables = identity.environment(tmp_path / "run", {"HOME": str(home), "PATH": os.environ["PATH"]}, uid, gid)

    environ = {**os.environ, **variables}
    passwd = subprocess.run(["getent", "passwd", str(uid)], env=environ, capture_output=True, text=True, check=True)
    assert passwd.stdout.strip().split(":") == [f"uid{uid}", "x", str(uid), str(gid), f"uid {uid}", str(home),
                                                "/usr/sbin/nologin"]
    group = subprocess.run(["getent", "group", str(gid)], env=environ, capture_output=True, text=True, check=True)
    assert group.stdout.strip() == f"gid{gid}:x:{gid}:"
    # the machine's own entries stay visible
    root = subprocess.run(["getent", "passwd", "0"], env=environ, capture_output=True, text=True, check=True)
    assert root.stdout.startswith("root:")


def test_an_unwritable_home_falls_back_to_the_runs_work_directory(tmp_path: Path) -> None:
    uid = unused("passwd")
    variables = identity.environment(tmp_path / "run", {"HOME": "/nonexistent"}, uid, 0)
    passwd = subprocess.run(["getent", "passwd", str(uid)], env={**os.environ, **variables}, capture_output=True,
                            text=True, check=True)
    assert passwd.stdout.strip().split(":")[5] == str(tmp_path / "run")


def test_a_uid_with_a_passwd_entry_is_left_alone(tmp_path: Path) -> None:
    assert identity.environment(tmp_path, {"HOME": str(tmp_path)}, 0, 0) == {}
    identity.check(0)  # never refused
    assert not (tmp_path / "identity").exists()
