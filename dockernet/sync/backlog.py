"""Names waiting to be synced after events, one queue per container, served in turn (pure; no I/O).

An event asks for all its container's names to be synced. Done in one go,
a container with many names (aliases, SRV) would hold up every other
container's event for as long as its UPDATEs take. Queued here instead,
the names are served round-robin, one name of each container in turn, so
the watcher can read its events between any two UPDATEs and a container
that just started waits for at most one name of each other busy container.

Names are keyed by their raw labels: hashing a ``dns.name.Name`` folds its
case every time, and this runs for every name of every event. The names
dockernet writes are lower case, so at worst a name in another case is
synced twice, which changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

import dns.name

from dockernet.publish.plan import forward_first

#: per name: the name, and whether its current state was just read from the server
#: (``Reconciler.sync_name``'s ``verified``)
_Queue = dict[tuple[bytes, ...], tuple[dns.name.Name, bool]]


class Backlog:
    def __init__(self) -> None:
        #: per container (or "" for names no container asked for): its names in sync order
        self._queues: dict[str, _Queue] = {}

    def __bool__(self) -> bool:
        return bool(self._queues)

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def add(self, key: str, names: Iterable[dns.name.Name], verified: bool = False) -> None:
        """Queue ``names`` for ``key``: address names first, then SRV names, PTRs last (``plan.forward_first``).

        A name already queued stays verified only if both requests say so;
        a queue keeps its place in line.
        """
        queue = self._queues.get(key, {})
        added = False
        for name in names:
            queued = queue.get(name.labels)
            if queued is None:
                queue[name.labels] = (name, verified)
                added = True
            elif queued[1] and not verified:
                queue[name.labels] = (name, False)
        if added:
            self._queues[key] = dict(sorted(queue.items(), key=lambda item: forward_first(item[1][0])))

    def pop(self) -> tuple[dns.name.Name, bool]:
        """The next name to sync: the first of the first queue, whose owner then goes to the back of the line."""
        key = next(iter(self._queues))
        queue = self._queues.pop(key)
        name, verified = queue.pop(next(iter(queue)))
        if queue:
            self._queues[key] = queue
        return name, verified

    def discard(self, names: Iterable[dns.name.Name]) -> None:
        """Forget these names (they were just synced some other way, e.g. in a batch)."""
        if not self._queues:
            return
        gone = {name.labels for name in names}
        for key in list(self._queues):
            queue = {labels: entry for labels, entry in self._queues[key].items() if labels not in gone}
            if queue:
                self._queues[key] = queue
            else:
                del self._queues[key]
