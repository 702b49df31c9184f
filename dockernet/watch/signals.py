"""Signals as the watch loop hears them: each only posts to the inbox.

A handler may run between any two steps of the main thread, so it does no
work itself; the loop takes the item between two updates (SIGTERM, SIGINT:
finish the update in flight, then stop; SIGHUP: re-read the key, resync).
"""

from __future__ import annotations

import signal

from dockernet.watch.inbox import RELOAD, Inbox


def install_signal_handlers(inbox: Inbox) -> None:
    """SIGTERM and SIGINT stop the loop after the update in flight; SIGHUP asks for a re-key and a resync."""

    def stop(*_args: object) -> None:
        inbox.stop()

    def reload(*_args: object) -> None:
        inbox.put(RELOAD)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
