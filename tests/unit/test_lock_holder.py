"""The lock names its holder without needing a passwd entry: containers run under any uid (`docker run --user
1000:1000`, Kubernetes `runAsUser`), and getpass.getuser() raises KeyError for a uid /etc/passwd lacks."""

from __future__ import annotations

import json
import os
import pwd
from dataclasses import asdict

from reconciler.aws.lock_record import holder_name, new_lock_info

NAME_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")


def uid_without_passwd_entry() -> int:
    uid = 54321
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 1


def test_a_uid_without_passwd_entry_is_named_by_its_number() -> None:
    uid = uid_without_passwd_entry()
    assert holder_name(uid, environ={}) == f"uid {uid}"


def test_the_login_variables_come_first_as_getpass_reads_them() -> None:
    assert holder_name(uid_without_passwd_entry(), environ={"USER": "ana", "LNAME": "other"}) == "ana"
    assert holder_name(uid_without_passwd_entry(), environ={"LOGNAME": "bo", "USER": "ana"}) == "bo"
    assert holder_name(0, environ={"USER": ""}) == pwd.getpwuid(0).pw_name


def test_a_process_under_a_uid_without_passwd_entry_makes_its_lock_info() -> None:
    """A forked child that switches to a uid /etc/passwd lacks (as root; otherwise it keeps this uid, which has
    an entry) and has no login variables, as in a container started with --user."""
    uid = uid_without_passwd_entry()
    as_root = os.geteuid() == 0
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read)
            for variable in NAME_VARIABLES:
                os.environ.pop(variable, None)
            if as_root:
                os.setgid(uid)
                os.setuid(uid)
            os.write(write, json.dumps(asdict(new_lock_info("apply"))).encode())
            code = 0
        except BaseException as error:
            os.write(write, json.dumps({"error": repr(error)}).encode())
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = json.loads(pipe.read() or b"{}")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, answer
    expected = f"uid {uid}" if as_root else pwd.getpwuid(os.getuid()).pw_name
    assert answer["who"] == expected
    assert answer["operation"] == "apply" and answer["pid"] == pid
