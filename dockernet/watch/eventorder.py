"""Many containers' events at once, each container's in order (pure; no I/O, no threads).

An inspect waits for as long as dockerd holds the container's lock: one made
while a container is still starting returns only when its start is done. Done
one after another, such an inspect held up every other container's event
behind it (the slowest 5 % of a 200-container burst reached the server
0.35-0.45 s late). So inspects run in parallel (``engine.inspectors``), and
this value keeps each container's events in order:

* at most one inspect per container is in flight; an event that comes
  meanwhile asks for a fresh one, made when the one in flight returns, so the
  container's last answer is always one taken after its last event;
* an answer is applied at once, even when newer events wait for their own
  inspect: it is the container's state at some moment after the inspect was
  asked for, and the next answer follows. (Dropping it cost every container
  an extra round trip: Docker sends ``connect`` and ``start`` for one start);
* except after a removal (``die``, ``stop``, ``destroy``), which needs no
  inspect: the caller applies it at once, and a ``start`` still being
  inspected when its ``die`` arrives is dropped, because the ``die`` is
  newer. If the container runs again (a restart policy, ``docker restart``),
  its ``start`` comes after the ``die`` and is inspected in turn. A
  ``disconnect`` is applied from the event too (the network's addresses go),
  and likewise drops an answer asked for before it.

Nothing here grows with the number of running containers: a container is
tracked only while an inspect of it is in flight or wanted.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

#: events after which the container publishes nothing: applied without asking the engine
REMOVALS = frozenset({"die", "stop", "destroy"})
#: events the caller applies from the event itself; an inspect asked for before one of them is stale
APPLIED_FROM_EVENT = REMOVALS | {"disconnect"}


@dataclass(frozen=True)
class InspectRequest:
    """Ask the engine about ``container_id``; its answer counts only for ``generation``."""

    container_id: str
    generation: int
    #: when the event that asked for it happened (ns since the epoch; 0: unknown), for the latency metric
    time_nano: int = 0


@dataclass
class _Track:
    generation: int
    #: the generation of the inspect in flight, None when none is
    in_flight: int | None = None
    #: an event came that the inspect in flight (if any) cannot have seen
    wanted: bool = False
    #: the generation of the last event applied without an inspect (``APPLIED_FROM_EVENT``)
    applied_from_event: int = 0
    time_nano: int = 0


class EventOrder:
    """Which inspects to start and which answers to apply (see the module docstring)."""

    def __init__(self) -> None:
        self._tracks: dict[str, _Track] = {}
        # one counter for all containers and across resets: an answer from before a reset never matches
        self._generations = itertools.count(1)

    def __len__(self) -> int:
        return len(self._tracks)

    def event(self, container_id: str, action: str, time_nano: int = 0) -> InspectRequest | None:
        """Note an event; returns the inspect to start now, if one should start."""
        track = self._tracks.setdefault(container_id, _Track(0))
        track.generation = next(self._generations)
        track.wanted = action not in REMOVALS
        if action in APPLIED_FROM_EVENT:
            track.applied_from_event = track.generation
        track.time_nano = time_nano or track.time_nano
        return self._next(container_id, track)

    def inspected(self, request: InspectRequest) -> tuple[bool, InspectRequest | None]:
        """An inspect returned: (whether to apply its answer, the inspect to start next, if any)."""
        track = self._tracks.get(request.container_id)
        if track is None or track.in_flight != request.generation:
            return False, None  # asked for before a reset: the full reconcile since covers it
        track.in_flight = None
        return request.generation >= track.applied_from_event, self._next(request.container_id, track)

    def reset(self) -> None:
        """Forget every container (a full reconcile replaces what was in flight); later answers are ignored."""
        self._tracks.clear()

    def _next(self, container_id: str, track: _Track) -> InspectRequest | None:
        if track.in_flight is None and track.wanted:
            track.wanted = False
            track.in_flight = track.generation
            return InspectRequest(container_id, track.generation, track.time_nano)
        if track.in_flight is None:
            del self._tracks[container_id]
        return None
