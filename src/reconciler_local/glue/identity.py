"""A passwd entry for a Spark job run whose user id has none.

Containers run under any uid (`docker run --user 1000:1000`, Kubernetes `runAsUser`, OpenShift), usually one
that /etc/passwd lacks. The JVM then sets `user.home` to `?` (Spark: "basedir must be absolute: ?/.ivy2/local"),
and Hadoop's login (its JAAS UnixLoginModule, which HADOOP_USER_NAME does not bypass) fails with
"invalid null input: name". Both ask the C library's getpwuid. So the job's processes get one through
nss_wrapper (https://cwrap.org/nss_wrapper.html, Debian `libnss-wrapper`), as the Apache Spark images do:
LD_PRELOAD the library and point NSS_WRAPPER_PASSWD / NSS_WRAPPER_GROUP at copies of /etc/passwd and
/etc/group with the uid (home: $HOME) and gid added, written into the run's work directory.
"""

from __future__ import annotations

import ctypes.util
import glob
import grp
import os
import pwd
from collections.abc import Mapping
from pathlib import Path

LIBRARY = "nss_wrapper"


class NoIdentity(Exception):
    """The uid has no passwd entry and nss_wrapper is not installed: Spark cannot log in."""


def has_passwd_entry(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def _library() -> str | None:
    """The library as LD_PRELOAD takes it: the linker cache's name, else a path in the usual directories."""
    found = ctypes.util.find_library(LIBRARY)
    if found:
        return found
    for pattern in ("/usr/lib/*/libnss_wrapper.so*", "/usr/lib64/libnss_wrapper.so*", "/usr/lib/libnss_wrapper.so*",
                    "/usr/local/lib/libnss_wrapper.so*"):
        paths = sorted(glob.glob(pattern))
        if paths:
            return paths[0]
    return None


def check(uid: int | None = None) -> None:
    """Raise NoIdentity when a Spark run under `uid` (default: ours) could not get a passwd entry."""
    uid = os.getuid() if uid is None else uid
    if not has_passwd_entry(uid) and _library() is None:
        raise NoIdentity(
            f"The user id {uid} has no passwd entry, which Spark's Hadoop login needs: install nss_wrapper "
            "(Debian and Ubuntu: apt-get install libnss-wrapper), or run the endpoint as a user that has one"
        )


def _home(environ: Mapping[str, str], work_dir: Path) -> str:
    home = environ.get("HOME", "")
    if home.startswith("/") and os.path.isdir(home) and os.access(home, os.W_OK | os.X_OK):
        return home
    return str(work_dir)


def environment(work_dir: Path, environ: Mapping[str, str], uid: int | None = None,
                gid: int | None = None) -> dict[str, str]:
    """The variables that give a job process under `uid`/`gid` a passwd entry: {} when it has one already (or
    nss_wrapper is missing, which `check` reports for Spark runs)."""
    uid = os.getuid() if uid is None else uid
    gid = os.getgid() if gid is None else gid
    library = _library()
    if has_passwd_entry(uid) or library is None:
        return {}
    directory = work_dir / "identity"
    directory.mkdir(parents=True, exist_ok=True)
    name = f"uid{uid}"
    passwd = _read("/etc/passwd") + f"{name}:x:{uid}:{gid}:uid {uid}:{_home(environ, work_dir)}:/usr/sbin/nologin\n"
    group = _read("/etc/group")
    try:
        grp.getgrgid(gid)
    except KeyError:
        group += f"gid{gid}:x:{gid}:\n"
    (directory / "passwd").write_text(passwd, encoding="utf-8")
    (directory / "group").write_text(group, encoding="utf-8")
    preload = " ".join(part for part in (library, environ.get("LD_PRELOAD", "")) if part)
    return {"LD_PRELOAD": preload, "NSS_WRAPPER_PASSWD": str(directory / "passwd"),
            "NSS_WRAPPER_GROUP": str(directory / "group")}


def _read(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""
    return text if not text or text.endswith("\n") else text + "\n"
