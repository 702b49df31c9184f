"""plan_names(): the whole plan as a value, forward names first, each PTR planned against the zone as it will be.

Table: (claims by name, current zone) -> the changes in order, and what is blocked.
"""

import dns.name
import pytest

from dockernet.publish.plan import Claim, Create, Delete, Foreign, Owned, Plan, Replace, operations, plan_names

WEB = dns.name.from_text("web.docker.test.")
DB = dns.name.from_text("db.docker.test.")
PTR2 = dns.name.from_text("2.0.1.10.in-addr.arpa.")
PTR3 = dns.name.from_text("3.0.1.10.in-addr.arpa.")
A, B = "a" * 64, "b" * 64


def fwd(name, cid, address, created="2026-01-01T00:00:00Z"):
    return Claim(name, cid, (("A", address),), 60, created)


SRV_WEB = dns.name.from_text("_http._tcp.web.docker.test.")


def srv(name, cid, port=80):
    return Claim(name, cid, (("SRV", f"0 0 {port} {name.parent().parent()}"),), 60)


def ptr(name, cid, target):
    return Claim(name, cid, (("PTR", target.to_text()),), 60)


def ours(cid, *records):
    return Owned(cid[:12], tuple(records), 60)


def summary(result: Plan):
    return (
        [
            (type(c).__name__, c.fqdn.to_text(), getattr(getattr(c, "claim", None), "short_id", None))
            for c in result.changes
        ],
        [(b.fqdn.to_text(), b.holder.holder) for b in result.blocked],
    )


CASES = {
    "a new container: its name, then its PTR (the PTR sees the forward name it will hold)": (
        {WEB: [fwd(WEB, A, "10.1.0.2")], PTR2: [ptr(PTR2, A, WEB)]},
        {},
        [("Create", "web.docker.test.", "a" * 12), ("Create", PTR2.to_text(), "a" * 12)],
        [],
    ),
    "a PTR is never planned before its forward name, whatever order the names come in": (
        {PTR2: [ptr(PTR2, A, WEB)], WEB: [fwd(WEB, A, "10.1.0.2")]},
        {},
        [("Create", "web.docker.test.", "a" * 12), ("Create", PTR2.to_text(), "a" * 12)],
        [],
    ),
    "a name someone else holds: blocked, and so no PTR for it": (
        {WEB: [fwd(WEB, A, "10.1.0.2")], PTR2: [ptr(PTR2, A, WEB)]},
        {WEB: Foreign("host-b")},
        [],
        [("web.docker.test.", "host-b")],
    ),
    "collision: the holder keeps the name, the other container's PTR waits": (
        {
            WEB: [fwd(WEB, A, "10.1.0.2"), fwd(WEB, B, "10.1.0.3", "2025-01-01T00:00:00Z")],
            PTR2: [ptr(PTR2, A, WEB)],
            PTR3: [ptr(PTR3, B, WEB)],
        },
        {WEB: ours(A, ("A", "10.1.0.2")), PTR2: ours(A, ("PTR", "web.docker.test."))},
        [],
        [],
    ),
    "collision with no holder: the oldest container wins, with its PTR only": (
        {
            WEB: [fwd(WEB, A, "10.1.0.2"), fwd(WEB, B, "10.1.0.3", "2025-01-01T00:00:00Z")],
            PTR2: [ptr(PTR2, A, WEB)],
            PTR3: [ptr(PTR3, B, WEB)],
        },
        {},
        [("Create", "web.docker.test.", "b" * 12), ("Create", PTR3.to_text(), "b" * 12)],
        [],
    ),
    "handover: the holder went; the name and a PTR move to the waiting container, the old PTR goes": (
        {WEB: [fwd(WEB, B, "10.1.0.3")], PTR3: [ptr(PTR3, B, WEB)]},
        {WEB: ours(A, ("A", "10.1.0.2")), PTR2: ours(A, ("PTR", "web.docker.test."))},
        [
            ("Replace", "web.docker.test.", "b" * 12),
            ("Delete", PTR2.to_text(), None),
            ("Create", PTR3.to_text(), "b" * 12),
        ],
        [],
    ),
    "everything gone: forward names are deleted before their PTRs": (
        {},
        {WEB: ours(A, ("A", "10.1.0.2")), PTR2: ours(A, ("PTR", "web.docker.test.")), DB: ours(B, ("A", "10.1.0.3"))},
        [("Delete", "db.docker.test.", None), ("Delete", "web.docker.test.", None), ("Delete", PTR2.to_text(), None)],
        [],
    ),
    "an SRV name under a name another owner holds: blocked with it, the SRV name never planned": (
        {WEB: [fwd(WEB, A, "10.1.0.2")], SRV_WEB: [srv(SRV_WEB, A)]},
        {WEB: Foreign("host-b")},
        [],
        [("web.docker.test.", "host-b")],
    ),
    "an SRV name under records written by hand: never planned": (
        {WEB: [fwd(WEB, A, "10.1.0.2")], SRV_WEB: [srv(SRV_WEB, A)]},
        {WEB: Foreign("")},
        [],
        [("web.docker.test.", "")],
    ),
    "an SRV name under a name another container holds: only the holder's SRV": (
        {
            WEB: [fwd(WEB, A, "10.1.0.2"), fwd(WEB, B, "10.1.0.3", "2025-01-01T00:00:00Z")],
            SRV_WEB: [srv(SRV_WEB, A, 8080), srv(SRV_WEB, B, 8081)],
        },
        {WEB: ours(A, ("A", "10.1.0.2"))},
        [("Create", SRV_WEB.to_text(), "a" * 12)],
        [],
    ),
    "an SRV name goes when the name it hangs on changes hands": (
        {WEB: [fwd(WEB, B, "10.1.0.3")]},
        {WEB: ours(A, ("A", "10.1.0.2")), SRV_WEB: ours(A, ("SRV", "0 0 80 web.docker.test."))},
        [("Replace", "web.docker.test.", "b" * 12), ("Delete", SRV_WEB.to_text(), None)],
        [],
    ),
    "a new container: its name, then the SRV name under it": (
        {SRV_WEB: [srv(SRV_WEB, A)], WEB: [fwd(WEB, A, "10.1.0.2")]},
        {},
        [("Create", "web.docker.test.", "a" * 12), ("Create", SRV_WEB.to_text(), "a" * 12)],
        [],
    ),
    "nothing to do when the zone already is what the claims ask": (
        {WEB: [fwd(WEB, A, "10.1.0.2")], PTR2: [ptr(PTR2, A, WEB)]},
        {WEB: ours(A, ("A", "10.1.0.2")), PTR2: ours(A, ("PTR", "web.docker.test."))},
        [],
        [],
    ),
}


@pytest.mark.parametrize("claims, current, changes, blocked", CASES.values(), ids=list(CASES))
def test_plan_table(claims, current, changes, blocked):
    names = set(claims) | set(current)
    result = plan_names(names, lambda name: claims.get(name, []), current)
    assert summary(result) == (changes, blocked)


def test_operations_of_a_replace_delete_only_what_this_watcher_writes():
    change = Replace(WEB, ours(A, ("A", "10.1.0.2")), fwd(WEB, B, "10.1.0.3"))
    ops = operations(change, "host-a")
    assert ops.required_mark == "heritage=dockernet,owner=host-a,container=" + "a" * 12
    assert ops.deletes == ("A", "TXT")
    assert ops.adds == (("A", "10.1.0.3"), ("TXT", "heritage=dockernet,owner=host-a,container=" + "b" * 12))


def test_operations_of_a_create_and_a_delete():
    create = operations(Create(WEB, fwd(WEB, A, "10.1.0.2")), "host-a")
    assert create.required_mark is None and create.deletes == () and len(create.adds) == 2
    delete = operations(Delete(WEB, ours(A, ("A", "10.1.0.2"), ("AAAA", "fd00::2"))), "host-a")
    assert delete.deletes == ("A", "AAAA", "TXT") and delete.adds == ()
