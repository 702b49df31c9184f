"""Each container's events in order while many containers are inspected at once (eventorder.py, containers.py).

The watcher tests use a stand-in engine whose inspect blocks until the test
lets it return: that is the situation a real dockerd creates for a starting
container, made deterministic. The real engine is in tests/integration.
"""

import threading

import pytest

from dockernet.engine.model import ContainerInfo, parse_event
from dockernet.metrics import Health
from dockernet.watch.eventorder import EventOrder, InspectRequest
from dockernet.watch.inbox import INSPECTED
from dockernet.watch.watcher import Watcher, WatchOptions


def test_one_inspect_per_container_in_flight_and_a_later_event_asks_again():
    order = EventOrder()
    first = order.event("a", "connect")
    assert first == InspectRequest("a", first.generation)
    assert order.event("a", "start") is None  # one in flight already
    apply, follow = order.inspected(first)
    assert apply, "a state taken after the connect: published now, not one round trip later"
    assert follow is not None and follow.container_id == "a" and follow.generation > first.generation
    apply, follow_up = order.inspected(follow)
    assert apply and follow_up is None
    assert len(order) == 0, "nothing is kept for a container with nothing in flight"


def test_a_die_while_its_start_is_inspected_wins():
    order = EventOrder()
    start = order.event("a", "start")
    assert order.event("a", "die") is None  # applied by the caller at once, no inspect
    apply, follow = order.inspected(start)
    assert (apply, follow) == (False, None)
    assert len(order) == 0


def test_a_start_after_the_die_is_inspected_again():
    order = EventOrder()
    start = order.event("a", "start")
    order.event("a", "die")
    assert order.event("a", "start") is None  # the first inspect is still in flight
    apply, follow = order.inspected(start)
    assert not apply and follow is not None
    assert order.inspected(follow) == (True, None)


def test_containers_do_not_wait_for_each_other():
    order = EventOrder()
    a, b = order.event("a", "start"), order.event("b", "start")
    assert a is not None and b is not None, "b's inspect starts while a's is in flight"
    assert order.inspected(b) == (True, None)
    assert order.inspected(a) == (True, None)


def test_answers_from_before_a_reset_are_ignored_even_for_a_new_inspect_of_the_same_container():
    order = EventOrder()
    old = order.event("a", "start")
    order.reset()
    new = order.event("a", "start")
    assert order.inspected(old) == (False, None)
    assert order.inspected(new) == (True, None)


def test_an_answer_asked_for_before_a_disconnect_is_dropped_and_asked_again():
    order = EventOrder()
    connect = order.event("a", "connect")
    assert order.event("a", "disconnect") is None
    apply, follow = order.inspected(connect)
    assert not apply, "it may still show the network the disconnect removed"
    assert follow is not None and order.inspected(follow) == (True, None)


def test_a_removal_alone_leaves_nothing_tracked():
    order = EventOrder()
    assert order.event("a", "destroy") is None
    assert len(order) == 0


# -- the watcher's dispatch with inspects that block ----------------------------------


class BlockingEngine:
    """Inspects return only when the test releases that container."""

    def __init__(self):
        self.release = {}
        self.asked = []

    def info(self, container_id, running=True):
        return ContainerInfo(
            container_id,
            container_id,
            container_id,
            running,
            "",
            ("10.1.0.2",),
            networks=(("bridge", "10.1.0.2"), ("other", "10.2.0.2")),
        )

    def inspect(self, container_id):
        self.asked.append(container_id)
        gate = self.release.setdefault(container_id, threading.Event())
        assert gate.wait(10), f"test never released {container_id}"
        return self.info(container_id)


class RecordingReconciler:
    health = Health()
    applied = 0
    backlog = ()

    def __init__(self):
        self.changes = []

    def container_changed(self, container_id, info, interrupt=None):
        self.changes.append((container_id, None if info is None else (info.running, info.addresses)))
        self.applied += 1


def event(container_id, action, network=""):
    if action in ("connect", "disconnect"):
        return parse_event(
            {
                "Type": "network",
                "Action": action,
                "Actor": {"ID": "n", "Attributes": {"container": container_id, "name": network}},
                "timeNano": 1,
            }
        )
    return parse_event({"Type": "container", "Action": action, "Actor": {"ID": container_id}, "timeNano": 1})


def next_answer(watcher):
    """Run the main loop's dispatch until one inspect answer has been handled."""
    while True:
        item = watcher.events.get(timeout=10)
        watcher._dispatch(item)
        if isinstance(item, tuple) and item[0] == INSPECTED:
            return item[1].container_id


def make_watcher():
    engine = BlockingEngine()
    reconciler = RecordingReconciler()
    watcher = Watcher(engine, reconciler, WatchOptions(), nameserver=None, ttl=60)
    return watcher, engine, reconciler


def test_a_blocked_inspect_holds_up_no_other_container():
    watcher, engine, reconciler = make_watcher()
    try:
        watcher._dispatch(event("slow", "start"))
        watcher._dispatch(event("quick", "start"))
        engine.release.setdefault("quick", threading.Event()).set()
        assert next_answer(watcher) == "quick"
        assert reconciler.changes == [("quick", (True, ("10.1.0.2",)))], "applied while slow is still inspected"
        engine.release.setdefault("slow", threading.Event()).set()
        assert next_answer(watcher) == "slow"
        assert reconciler.changes[-1] == ("slow", (True, ("10.1.0.2",)))
    finally:
        watcher.containers.stop()


def test_die_is_applied_at_once_and_the_older_start_answer_is_dropped():
    watcher, engine, reconciler = make_watcher()
    try:
        watcher._dispatch(event("a", "start"))
        watcher._dispatch(event("a", "die"))
        assert reconciler.changes == [("a", None)], "the die needs no inspect"
        engine.release.setdefault("a", threading.Event()).set()
        assert next_answer(watcher) == "a"
        assert reconciler.changes == [("a", None)], "the start's answer predates the die"
        assert engine.asked == ["a"]
    finally:
        watcher.containers.stop()


def test_disconnect_removes_that_networks_address_from_what_is_known():
    watcher, engine, reconciler = make_watcher()
    try:
        watcher.containers.known["a"] = engine.info("a")
        watcher._dispatch(event("a", "disconnect", network="other"))
        assert reconciler.changes == [("a", (True, ("10.1.0.2",)))]
        assert watcher.containers.known["a"].networks == (("bridge", "10.1.0.2"),)
    finally:
        watcher.containers.stop()


def test_inspectors_post_an_unreachable_engine_to_the_main_thread():
    from dockernet.errors import DockerUnreachable

    class Gone:
        def inspect(self, container_id):
            raise DockerUnreachable("the Docker engine at unix:///x does not answer")

    watcher = Watcher(Gone(), RecordingReconciler(), WatchOptions(), nameserver=None, ttl=60)
    try:
        watcher._dispatch(event("a", "start"))
        item = watcher.events.get(timeout=10)
        with pytest.raises(DockerUnreachable, match="does not answer"):  # the main thread sees the engine go
            watcher._dispatch(item)
    finally:
        watcher.containers.stop()


def test_a_full_reconcile_rebuilds_what_is_known():
    class Listing(BlockingEngine):
        def running(self):
            return [self.info("b")]

    class FullReconciler(RecordingReconciler):
        def full(self, running, guard=None):
            self.listed = [info.id for info in running]
            return True

    watcher = Watcher(Listing(), FullReconciler(), WatchOptions(), nameserver=None, ttl=60)
    watcher.containers.known["gone"] = watcher.engine.info("gone")  # its die was never delivered
    watcher._full()
    assert set(watcher.containers.known) == {"b"} and watcher.reconciler.listed == ["b"]
