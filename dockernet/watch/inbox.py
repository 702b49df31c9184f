"""The watch loop's one queue, and its stop flag.

Everything that wakes the main thread arrives here: engine events (from the
reader thread), inspect answers (from the inspectors), signals, and the end
of a stream. The main thread alone takes items out, so nothing it drives
(the reconciler) is shared between threads.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

#: SIGTERM/SIGINT: finish the update in flight, then leave the loop
STOP = "stop"
#: SIGHUP: re-read the key, then resync
RELOAD = "reload"
#: ``(DISCONNECTED, stream)``: that event stream ended
DISCONNECTED = "disconnected"
#: ``(INSPECTED, request, answer)``: an inspect returned
INSPECTED = "inspected"


class Inbox:
    """A queue the main loop waits on, with the flag that says it is stopping."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stopping = threading.Event()

    def put(self, item: Any) -> None:
        self._queue.put(item)

    def get(self, timeout: float) -> Any:
        """The next item; ``queue.Empty`` when none came within ``timeout`` seconds."""
        return self._queue.get(timeout=timeout)

    def empty(self) -> bool:
        return self._queue.empty()

    def stop(self) -> None:
        """Set the flag, and wake the loop so it sees it."""
        self._stopping.set()
        self.put(STOP)

    def stopping(self) -> bool:
        return self._stopping.is_set()

    def pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True (at once) when the loop is asked to stop."""
        return self._stopping.wait(seconds)
