"""What systemd sees of the watcher: READY, WATCHDOG and STOPPING (health and metrics: ``dockernet.metrics``).

Optional and free when off: without ``NOTIFY_SOCKET`` no socket is opened.
"""

from __future__ import annotations

import os
import socket

# --- systemd (sd_notify protocol: datagrams of KEY=VALUE lines) ------------


def sd_notify(message: str) -> bool:
    """Send ``message`` to the socket systemd named in NOTIFY_SOCKET; False when there is none."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True


def watchdog_interval() -> float | None:
    """How often to send WATCHDOG=1 (half of WATCHDOG_USEC), or None when systemd does not watch us."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.05, int(usec) / 2_000_000)
    except ValueError:
        return None


class Supervisor:
    """What systemd hears from the watcher: READY once, WATCHDOG=1 on time, STOPPING at the end."""

    def __init__(self) -> None:
        #: seconds between keep-alives (None: systemd does not watch this process)
        self.watchdog = watchdog_interval()
        self._next_watchdog = 0.0
        self._ready_sent = False

    def ready(self) -> None:
        """The first full reconcile ran: the watcher is doing its job (said once)."""
        if not self._ready_sent:
            self._ready_sent = sd_notify("READY=1\nSTATUS=watching")

    def keep_alive(self, now: float) -> None:
        """Send WATCHDOG=1 if one is due at ``now``."""
        if self.watchdog and now >= self._next_watchdog:
            sd_notify("WATCHDOG=1")
            self._next_watchdog = now + self.watchdog

    def next_keep_alive(self) -> float | None:
        """When the next WATCHDOG=1 is due (None: never)."""
        return self._next_watchdog if self.watchdog else None

    def still_waiting(self) -> None:
        """Waiting for Docker is not hanging: tell the watchdog so, now."""
        if self.watchdog:
            sd_notify("WATCHDOG=1")

    def stopping(self) -> None:
        sd_notify("STOPPING=1")
