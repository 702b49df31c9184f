"""The backlog: names waiting after events, served one container's name at a time (pure)."""

import dns.name

from dockernet.sync.backlog import Backlog


def name(text):
    return dns.name.from_text(text)


def drain(backlog):
    served = []
    while backlog:
        served.append(backlog.pop())
    return [(fqdn.to_text(), verified) for fqdn, verified in served]


def test_containers_take_turns_one_name_each():
    backlog = Backlog()
    backlog.add("big", [name(f"a{n}.docker.test") for n in range(4)])
    backlog.add("small", [name("victim.docker.test")])
    served = [fqdn for fqdn, _ in drain(backlog)]
    assert served[:2] == ["a0.docker.test.", "victim.docker.test."]
    assert len(served) == 5


def test_a_containers_names_keep_their_sync_order():
    backlog = Backlog()
    backlog.add("c", [name("2.0.1.10.in-addr.arpa"), name("_http._tcp.web.docker.test"), name("web.docker.test")])
    assert [fqdn for fqdn, _ in drain(backlog)] == [
        "web.docker.test.",
        "_http._tcp.web.docker.test.",
        "2.0.1.10.in-addr.arpa.",
    ]


def test_a_name_asked_for_twice_is_queued_once_and_verified_only_if_both_say_so():
    backlog = Backlog()
    backlog.add("c", [name("web.docker.test")], verified=True)
    backlog.add("c", [name("web.docker.test")], verified=False)
    assert len(backlog) == 1
    assert drain(backlog) == [("web.docker.test.", False)]


def test_discard_forgets_names_and_empty_queues():
    backlog = Backlog()
    backlog.add("c", [name("web.docker.test"), name("db.docker.test")])
    backlog.add("d", [name("db.docker.test")])
    backlog.discard([name("db.docker.test")])
    assert len(backlog) == 1 and drain(backlog) == [("web.docker.test.", False)]
    assert not backlog
