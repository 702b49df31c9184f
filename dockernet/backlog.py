"""Names waiting to be synced after events, one queue per container, served in turn (pure; no I/O).

An event asks for all its container's names to be synced. Done in one go,
a container with many names (aliases, SRV) would hold up every other
container's event for as long as its UPDATEs take. Queued here instead,
the names are served round-robin, one name of each container in turn, so
the watcher can read its events between any two UPDATEs and a container
that just started waits for at most one name of each other busy container.
"""

from __future__ import annotations

from typing import Iterable

import dns.name

from dockernet.plan import forward_first


class Backlog:
    def __init__(self) -> None:
        #: per container (or "" for names no container asked for): its names in sync order, each with
        #: whether its current state was just read from the server (``Reconciler.sync_name``'s ``verified``)
        self._queues: dict[str, dict[dns.name.Name, bool]] = {}

    def __bool__(self) -> bool:
        return bool(self._queues)

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def add(self, key: str, names: Iterable[dns.name.Name], verified: bool = False) -> None:
        """Queue ``names`` for ``key``: address names first, then SRV names, PTRs last (``plan.forward_first``).

        A name already queued stays verified only if both requests say so.
        """
        queue = dict(self._queues.get(key, {}))
        for name in names:
            queue[name] = queue.get(name, True) and verified
        if queue:
            self._queues[key] = dict(sorted(queue.items(), key=lambda item: forward_first(item[0])))

    def pop(self) -> tuple[dns.name.Name, bool]:
        """The next name to sync: the first of the first queue, whose owner then goes to the back of the line."""
        key = next(iter(self._queues))
        queue = self._queues.pop(key)
        name = next(iter(queue))
        verified = queue.pop(name)
        if queue:
            self._queues[key] = queue
        return name, verified

    def discard(self, names: Iterable[dns.name.Name]) -> None:
        """Forget these names (they were just synced some other way, e.g. in a batch)."""
        if not self._queues:
            return
        gone = set(names)
        for key in list(self._queues):
            queue = {name: verified for name, verified in self._queues[key].items() if name not in gone}
            if queue:
                self._queues[key] = queue
            else:
                del self._queues[key]

