"""From one engine event to the reconciler: removals at once, everything else inspected first.

A removal (``die``, ``stop``, ``destroy``) needs no inspect and is applied
as soon as its event arrives; a ``disconnect`` is applied from what is known
of the container, less that network. Anything else is inspected by the
inspectors, in parallel, each container's events kept in order
(``eventorder``); the answer comes back through the inbox and is applied on
the main thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from dockernet.engine.inspectors import Answer, Inspectors
from dockernet.engine.interface import Engine
from dockernet.engine.model import ContainerEvent, ContainerInfo
from dockernet.errors import DockernetError
from dockernet.logformat import printable
from dockernet.metrics import NullMetrics
from dockernet.watch.eventorder import REMOVALS, EventOrder, InspectRequest
from dockernet.watch.inbox import INSPECTED, Inbox

if TYPE_CHECKING:
    from dockernet.sync.reconciler import Reconciler

log = logging.getLogger("dockernet")


class ContainerTracker:
    """Which containers to inspect, which answers to apply, and the running containers as last applied."""

    def __init__(
        self, engine: Engine, reconciler: Reconciler, inbox: Inbox, metrics: NullMetrics, interrupt: Callable[[], bool]
    ):
        self.reconciler = reconciler
        self.metrics = metrics
        #: asked between two UPDATEs: whether something else waits for the main thread
        self.interrupt = interrupt
        self.order = EventOrder()
        self.inspectors: Inspectors[InspectRequest] = Inspectors(
            engine, lambda request, answer: inbox.put((INSPECTED, request, answer))
        )
        #: the running containers as last applied: a ``disconnect`` is applied from this, without an inspect
        self.known: dict[str, ContainerInfo] = {}

    def event(self, event: ContainerEvent) -> None:
        """One engine event: a removal is applied at once, anything else is inspected (see eventorder.py)."""
        self.metrics.event_seen(event.action)
        log.info("Event Fired (%s): %s", event.container_id[:12], event.action)
        if event.action in REMOVALS:
            self._apply(event.container_id, None, event.time_nano)
        elif event.action == "disconnect" and event.container_id in self.known:
            self._apply(
                event.container_id, self.known[event.container_id].without_network(event.network), event.time_nano
            )
        request = self.order.event(event.container_id, event.action, event.time_nano)
        if request is not None:
            self.inspectors.submit(request)

    def inspected(self, request: InspectRequest, answer: Answer) -> None:
        """An inspect returned: apply it unless a removal of its container came meanwhile, then ask again if
        newer events wait (after the UPDATE is sent, so that inspect does not compete with it for the CPU)."""
        apply, follow = self.order.inspected(request)
        try:
            if apply:
                self._apply_answer(request, answer)
        finally:
            if follow is not None:
                self.inspectors.submit(follow)

    def _apply_answer(self, request: InspectRequest, answer: Answer) -> None:
        if isinstance(answer, DockernetError):
            raise answer  # DockerUnreachable: the loop reconnects and reconciles everything
        if isinstance(answer, Exception):
            log.error(
                "Cannot read container (%s) from the engine (%s: %s); the next resync looks again",
                request.container_id[:12],
                answer.__class__.__name__,
                printable(str(answer)),
            )
            return
        self._apply(request.container_id, answer, request.time_nano)

    def _apply(self, container_id: str, info: ContainerInfo | None, time_nano: int) -> None:
        before = self.reconciler.applied
        if info is not None and info.running:
            self.known[container_id] = info
        else:
            self.known.pop(container_id, None)
        self.reconciler.container_changed(container_id, info, interrupt=self.interrupt)
        if self.reconciler.applied > before and time_nano:
            self.metrics.latency(max(0.0, (time.time_ns() - time_nano) / 1e9))

    def listed(self, running: list[ContainerInfo], *, reconnected: bool = False) -> None:
        """A fresh listing replaces what is known (no entry outlives a container whose events were lost).

        After a reconnect, the inspects asked for before the listing are
        covered by it: their answers are ignored.
        """
        if reconnected:
            self.order.reset()
        self.known = {info.id: info for info in running}

    def stop(self) -> None:
        self.inspectors.stop()
