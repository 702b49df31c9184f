"""A few threads that inspect containers in parallel, each answer handed to a callback.

An inspect mostly waits on the engine (for a starting container, until its
start is done), so threads are enough, and a slow container holds up no
other. Each thread inspects over its own keep-alive connection
(``keepalive``). Nothing here decides which inspects to make or what an
answer means: the watcher does (``watch.eventorder``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from dockernet.engine.interface import Engine
from dockernet.engine.model import ContainerInfo

#: inspects in flight at once: as many containers as a burst starts in parallel may each hold one
INSPECTORS = 8


def inspect_in_parallel(
    inspect: Callable[[str], ContainerInfo | None],
    ids: list[str],
    threads: int,
    done: Callable[[], None] = lambda: None,
) -> list[ContainerInfo | None]:
    """``inspect`` each id, from ``threads`` threads sharing the ids in turn; the answers in the ids' order.

    ``done`` runs in each thread as it ends (it closes that thread's
    connection). What ``inspect`` raises is raised here, in the caller's
    thread, once every thread has ended.
    """
    found: list[ContainerInfo | None] = [None] * len(ids)
    failed: list[Exception] = []

    def share(first: int) -> None:
        try:
            for index in range(first, len(ids), threads):
                found[index] = inspect(ids[index])
        except Exception as exc:  # raised again below, in the caller's thread
            failed.append(exc)
        finally:
            done()

    workers = [threading.Thread(target=share, args=(first,)) for first in range(min(threads, len(ids)))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failed:
        raise failed[0]
    return found


class _Request(Protocol):
    @property
    def container_id(self) -> str: ...


RequestT = TypeVar("RequestT", bound=_Request)
#: an inspect's answer: the container, None when it is gone, or what the engine raised
Answer = ContainerInfo | None | Exception


class Inspectors(Generic[RequestT]):
    """Inspect what ``submit`` asks for and hand each (request, answer) to ``deliver``, from a worker thread.

    The threads start with the first request; ``stop`` ends them once the
    requests before it are done.
    """

    def __init__(self, engine: Engine, deliver: Callable[[RequestT, Answer], None], count: int = INSPECTORS):
        self.engine = engine
        self.deliver = deliver
        self.count = count
        self.requests: queue.SimpleQueue[RequestT | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def submit(self, request: RequestT) -> None:
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._work, name=f"inspector-{n}", daemon=True) for n in range(self.count)
            ]
            for thread in self._threads:
                thread.start()
        self.requests.put(request)

    def _work(self) -> None:
        while (request := self.requests.get()) is not None:
            answer: Answer
            try:
                answer = self.engine.inspect(request.container_id)
            except Exception as exc:  # handed on: a thread that died would leave its container waiting
                answer = exc
            self.deliver(request, answer)

    def stop(self) -> None:
        for _ in self._threads:
            self.requests.put(None)
        self._threads = []
