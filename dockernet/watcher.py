"""``dockernet watch``: the event loop around the reconciler.

Order at start-up matters: the event stream is opened *before* the running
containers are listed, so a container that starts while the listing is
under way is seen by one or the other, never by neither.

One thread reads the engine's event stream into a queue; the main thread
does all the work (inspect, plan, UPDATE), so no state is shared between
threads. The stream's end is a disconnect (docker-py's iterator just stops
when dockerd goes): the watcher waits for the engine, re-opens the stream
``since`` the last event it saw, and reconciles everything.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass

from dockernet.engine import DockerEngine, iterate_events, parse_event, since_parameter
from dockernet.errors import DnsTransient, DockerUnreachable
from dockernet.pidfile import process_alive, read_pid
from dockernet.reconcile import Reconciler

log = logging.getLogger("dockernet")

_STOP = object()
_DISCONNECTED = object()


def docker_pid_state(pidfile: str | None) -> str:
    """What Docker's pid file says, for the log line while waiting (the seed's DOCKER_PID check)."""
    if not pidfile or not os.path.exists(pidfile):
        return f"pid file {pidfile} is missing"
    pid = read_pid(pidfile)
    if pid and process_alive(pid):
        return f"pid file {pidfile} names live process {pid}"
    return f"pid file {pidfile} names no live process"


@dataclass(frozen=True)
class WatchOptions:
    docker_pid: str | None = None
    reconnect_cap: float = 10.0


class Watcher:
    def __init__(self, engine: DockerEngine, reconciler: Reconciler, options: WatchOptions = WatchOptions()):
        self.engine = engine
        self.reconciler = reconciler
        self.options = options
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.stopping = threading.Event()
        self._stream = None
        self._last_event_ns = 0

    # -- lifecycle ---------------------------------------------------------------

    def request_stop(self, *_args) -> None:
        """Signal handler: finish the update in flight, then leave the loop."""
        self.stopping.set()
        self.events.put(_STOP)

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def once(self) -> bool:
        """One full reconcile; True when everything was applied."""
        self.engine.ping()
        self.reconciler.nameserver.probe()
        return self.reconciler.full(self.engine.running())

    def run(self) -> None:
        """Watch until asked to stop. A key or zone the server rejects at start-up is fatal."""
        try:
            self.reconciler.nameserver.probe()
        except DnsTransient as exc:
            log.error("%s; starting anyway, updates will be retried", exc)
        # DnsRejected propagates: a watcher whose key is refused should not pretend to run
        if not self._reconnect():
            return
        try:
            self._loop()
        finally:
            self._close_stream()

    # -- the loop ----------------------------------------------------------------

    def _loop(self) -> None:
        while not self.stopping.is_set():
            wait = self.reconciler.retry_due_in()
            try:
                item = self.events.get(timeout=wait if wait is not None else 1.0)
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            try:
                if isinstance(item, tuple) and item[0] is _DISCONNECTED:
                    if item[1] is not self._stream:
                        continue  # the end of a stream already replaced
                    log.warning("Lost the Docker event stream from %s", self.engine.where)
                    if not self._reconnect():
                        break
                elif item is not None:
                    self._handle(item)
                if self.reconciler.retry_due_in() == 0.0:
                    self.reconciler.retry_pending()
            except DockerUnreachable as exc:
                log.warning("%s", exc)
                if not self._reconnect():
                    break

    def _handle(self, raw: dict) -> None:
        event = parse_event(raw)
        if event is None:
            return
        self._last_event_ns = max(self._last_event_ns, event.time_nano)
        log.info("Event Fired (%s): %s", event.container_id[:12], event.action)
        self.reconciler.container_changed(event.container_id, self.engine.inspect(event.container_id))

    # -- the engine connection ------------------------------------------------------

    def _reconnect(self) -> bool:
        """(Re)open the event stream and reconcile; False when asked to stop first."""
        while True:
            self._close_stream()
            if not self._wait_for_docker():
                return False
            try:
                self._connect()
                return True
            except DockerUnreachable as exc:
                log.warning("%s", exc)

    def _connect(self) -> None:
        """Subscribe to events, then reconcile everything (see the module docstring)."""
        since = since_parameter(self._last_event_ns + 1) if self._last_event_ns else None
        opened_ns = time.time_ns()
        self._stream = self.engine.events(since=since)
        if not self._last_event_ns:
            self._last_event_ns = opened_ns
        reader = threading.Thread(target=self._read_events, args=(self._stream,), name="docker-events", daemon=True)
        reader.start()
        running = self.engine.running()
        log.info("Watching Docker events at %s; %d running container(s)", self.engine.where, len(running))
        self.reconciler.full(running)

    def _read_events(self, stream) -> None:
        for raw in iterate_events(stream):
            self.events.put(raw)
        if not self.stopping.is_set():
            self.events.put((_DISCONNECTED, stream))

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:  # closing a broken stream may raise anything; it is gone either way
                pass

    def _wait_for_docker(self) -> bool:
        """Block until the engine answers (False if asked to stop first). Logs once, not per try."""
        delay = 0.2
        announced = False
        while not self.stopping.is_set():
            try:
                self.engine.ping()
            except DockerUnreachable as exc:
                if not announced:
                    log.warning("Waiting for Docker: %s (%s)", exc, docker_pid_state(self.options.docker_pid))
                    announced = True
                self.stopping.wait(delay)
                delay = min(self.options.reconnect_cap, delay * 2)
                continue
            if announced:
                log.info("Docker answers again at %s", self.engine.where)
            return True
        return False

