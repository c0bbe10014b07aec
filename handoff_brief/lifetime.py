"""Worker processes that end with the process that started them, however it ends."""

from __future__ import annotations

import os
import signal


def die_with_parent() -> None:
    """Tie this process to its parent: SIGKILL when the parent ends (SIGKILL included), and
    Ctrl-C left to the parent, which stops its workers and reports what was done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.uname().sysname == "Linux":
        import ctypes

        set_parent_death_signal = 1  # PR_SET_PDEATHSIG, prctl(2)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(set_parent_death_signal, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
