"""`python run_guard.py <endpoint pid> -- <script argv>`: a job run's process group dies with the endpoint.

The job runtime starts every run through this small guard, in a session (and process group) of its own; the
script and whatever it starts (PySpark's JVM, its Python workers) stay in that group. The guard ends the whole
group when:
- the endpoint stops the run (SIGTERM to the group from `job_runtime._kill`, timeout or BatchStopJobRun);
- the endpoint dies, even by SIGKILL: on Linux the kernel sends the guard SIGTERM when its parent dies
  (`prctl(PR_SET_PDEATHSIG)`, prctl(2)); elsewhere (and as a fallback) the guard notices that its parent
  changed (`os.getppid()`) within `POLL_SECONDS`;
- the script has ended: anything it left running in the group is ended too, as Glue tears a run's
  containers down when it ends.
Ending the group is SIGTERM, then SIGKILL after `GRACE_SECONDS`. The guard exits as the script did (its exit
code, or the same signal), so the runtime reads the outcome as before. It runs as a file, not a module of the
package, so that it starts without importing moto.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from types import FrameType

POLL_SECONDS = 0.2
GRACE_SECONDS = 5.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # the getppid() poll still notices


def _end_group(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM every other process of our group, SIGKILL what is left after the grace time."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    group = os.getpgrp()
    os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=GRACE_SECONDS)
    time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)  # kills us too: nothing of the run may outlive it


def main(argv: list[str]) -> int:
    parent, separator, *command = argv
    if separator != "--" or not command:
        print("usage: run_guard.py <endpoint pid> -- <command...>", file=sys.stderr)
        return 2
    _die_with_parent()
    if os.getppid() != int(parent):
        return 1  # the endpoint died before we could be told
    stop = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    child = subprocess.Popen(command)
    while True:
        try:
            returncode = child.wait(timeout=POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            if stop or os.getppid() != int(parent):
                _end_group(child)
                return 1
    # The script ended: end what it left behind (its own exit is already known), then exit as it did.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(os.getpgrp(), signal.SIGTERM)
    if returncode < 0:
        signal.signal(-returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -returncode)
    return returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
