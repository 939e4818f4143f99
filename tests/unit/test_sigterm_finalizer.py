"""SIGTERM reaches the command even when it arrives while the garbage collector runs a finalizer: an
exception raised there is printed as "Exception ignored" and dropped, so the handler sends it again after."""

from __future__ import annotations

import os
import signal
import time

import pytest

from reconciler.cli.boundary import Terminated, sigterm_as_interrupt


class SignalledWhileFinalized:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)  # the handler runs here, inside __del__


def test_a_sigterm_that_lands_in_a_finalizer_still_interrupts_the_command() -> None:
    with sigterm_as_interrupt(), pytest.raises(Terminated):
        SignalledWhileFinalized()  # dropped at once: __del__ runs now
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.01)


def test_a_sigterm_elsewhere_interrupts_at_once() -> None:
    with sigterm_as_interrupt(), pytest.raises(Terminated):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
