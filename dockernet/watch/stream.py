"""The engine's event stream: read by its own thread into the inbox, reopened after the engine comes back.

The stream is opened *before* the running containers are listed (the
watcher's ``_connect``), so a container that starts while the listing is
under way is seen by one or the other, never by neither. It is reopened
``since`` the last event seen, so none is lost across a reconnect. Its end
is a disconnect: docker-py's iterator just stops when dockerd goes.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from dockernet.engine.interface import Engine, EventStream
from dockernet.engine.kind import EngineKind
from dockernet.engine.model import ContainerEvent, ContainerInfo, since_parameter
from dockernet.errors import DockerUnreachable
from dockernet.metrics import Health
from dockernet.pidfile import process_alive, read_pid
from dockernet.watch.inbox import DISCONNECTED, Inbox
from dockernet.watch.supervision import Supervisor

log = logging.getLogger("dockernet")


def docker_pid_state(pidfile: str | None) -> str:
    """What Docker's pid file says, for the log line while waiting (the seed's DOCKER_PID check)."""
    if not pidfile or not os.path.exists(pidfile):
        return f"pid file {pidfile} is missing"
    pid = read_pid(pidfile)
    if pid and process_alive(pid):
        return f"pid file {pidfile} names live process {pid}"
    return f"pid file {pidfile} names no live process"


class EngineStream:
    """The subscription to the engine's events, and waiting for the engine when it is gone."""

    def __init__(
        self,
        engine: Engine,
        inbox: Inbox,
        health: Health,
        supervisor: Supervisor,
        docker_pid: str | None = None,
        reconnect_cap: float = 10.0,
    ):
        self.engine = engine
        self.inbox = inbox
        self.health = health
        self.supervisor = supervisor
        self.docker_pid = docker_pid
        self.reconnect_cap = reconnect_cap
        self._stream: EventStream | None = None
        #: the newest event seen (ns since the epoch): a reopened stream starts after it
        self.last_event_ns = 0

    def seen(self, event: ContainerEvent) -> None:
        self.last_event_ns = max(self.last_event_ns, event.time_nano)

    def is_current(self, stream: object) -> bool:
        """Whether ``stream`` is the one open now (not the end of a stream already replaced)."""
        return stream is self._stream

    def open(self) -> None:
        """Subscribe since the last event seen (from now, the first time) and start the reader thread."""
        since = since_parameter(self.last_event_ns + 1) if self.last_event_ns else None
        opened_ns = time.time_ns()
        self._stream = self.engine.events(since=since)
        self.health.docker_connected = True
        if not self.last_event_ns:
            self.last_event_ns = opened_ns
        reader = threading.Thread(target=self._read, args=(self._stream,), name="docker-events", daemon=True)
        reader.start()

    def _read(self, stream: EventStream) -> None:
        try:
            for event in stream:
                self.inbox.put(event)
        except Exception as exc:  # not a disconnect (that just ends the stream): the main thread raises it
            self.inbox.put(exc)
            return
        if not self.inbox.stopping():
            self.inbox.put((DISCONNECTED, stream))

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:  # closing a broken stream may raise anything; it is gone either way
                pass

    def lost(self) -> None:
        """The stream is gone: close it, and /healthz says so until it is open again."""
        self.close()
        self.health.docker_connected = False

    def wait_for_engine(self) -> bool:
        """Block until the engine answers (False if asked to stop first). Logs once, not per try."""
        delay = 0.2
        announced = False
        while not self.inbox.stopping():
            try:
                self.engine.ping()
            except DockerUnreachable as exc:
                if not announced:
                    log.warning("Waiting for Docker: %s (%s)", exc, docker_pid_state(self.docker_pid))
                    announced = True
                self.supervisor.still_waiting()
                self.inbox.pause(delay)
                delay = min(self.reconnect_cap, delay * 2)
                continue
            if announced:
                log.info("Docker answers again at %s", self.engine.where)
            return True
        return False


class EarlyListing:
    """The first subscription and listing, made on a thread of their own while the DNS side starts up.

    A cold start waits on both the engine (the listing inspects every
    running container) and the DNS server (the key's probe, the lease):
    done one after the other they add up. The subscription comes first, as
    in every connect, so a container started meanwhile is not missed; its
    events wait in the inbox.
    """

    def __init__(self, stream: EngineStream):
        self.stream = stream
        self._listed: tuple[list[ContainerInfo], EngineKind] | None = None
        self._thread = threading.Thread(target=self._subscribe_and_list, name="first-listing", daemon=True)
        self._thread.start()

    def _subscribe_and_list(self) -> None:
        try:
            self.stream.open()
            self._listed = (self.stream.engine.running(), self.stream.engine.kind())
        except Exception:  # the engine is not there (yet): the first connect waits for it its usual way
            self._listed = None

    def take(self) -> tuple[list[ContainerInfo], EngineKind] | None:
        """The running containers and the engine's kind, once; None when the engine did not answer."""
        self._thread.join()
        listed, self._listed = self._listed, None
        return listed

    def discard(self) -> None:
        """Start-up failed: the subscription made is closed."""
        self._thread.join()
        self.stream.close()
