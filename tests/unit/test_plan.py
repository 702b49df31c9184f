import dns.name
import pytest

from dockernet.publish.plan import (
    Blocked,
    Claim,
    Create,
    Delete,
    Foreign,
    Owned,
    Replace,
    choose_winner,
    current_after,
    plan_name,
)
from dockernet.publish.registry import ownership_mark, parse_mark, valid_owner_id

WEB = dns.name.from_text("web1.docker.test")
A_ID = "a" * 64
B_ID = "b" * 64


def claim(cid, addresses=("10.1.0.2",), ttl=60, created="2026-01-01T00:00:00Z"):
    return Claim(WEB, cid, tuple(("A", a) for a in addresses), ttl, created)


OURS_A = Owned("a" * 12, (("A", "10.1.0.2"),), 60)
OURS_B = Owned("b" * 12, (("A", "10.1.0.3"),), 60)
PERSON = Foreign("")
OTHER_HOST = Foreign("host-b")


@pytest.mark.parametrize(
    "claims, current, expected",
    [
        ([], None, None),
        ([claim(A_ID)], None, Create(WEB, claim(A_ID))),
        ([claim(A_ID)], OURS_A, None),
        ([claim(A_ID, ("10.1.0.9",))], OURS_A, Replace(WEB, OURS_A, claim(A_ID, ("10.1.0.9",)))),
        ([claim(A_ID, ttl=300)], OURS_A, Replace(WEB, OURS_A, claim(A_ID, ttl=300))),
        ([claim(A_ID)], OURS_B, Replace(WEB, OURS_B, claim(A_ID))),
        ([], OURS_A, Delete(WEB, OURS_A)),
        ([], PERSON, None),
        ([claim(A_ID)], PERSON, Blocked(WEB, claim(A_ID), PERSON)),
        ([claim(A_ID)], OTHER_HOST, Blocked(WEB, claim(A_ID), OTHER_HOST)),
    ],
)
def test_plan_matrix(claims, current, expected):
    assert plan_name(WEB, claims, current) == expected


def test_collision_holder_keeps_the_name_whatever_the_order():
    older = claim(A_ID, created="2026-01-01T00:00:00Z")
    newer = claim(B_ID, ("10.1.0.3",), created="2026-01-02T00:00:00Z")
    # B holds it (it came first in the events): it keeps it, in both list orders
    assert plan_name(WEB, [older, newer], OURS_B) is None
    assert plan_name(WEB, [newer, older], OURS_B) is None
    # nobody holds it: the oldest container wins, in both list orders
    assert choose_winner([older, newer], None) == older
    assert choose_winner([newer, older], None) == older
    # the holder stops: the other takes the name over in one change
    assert plan_name(WEB, [older], OURS_B) == Replace(WEB, OURS_B, older)


def test_mark_round_trip_and_rejections():
    mark = ownership_mark("host-a", A_ID)
    assert mark == "heritage=dockernet,owner=host-a,container=aaaaaaaaaaaa"
    assert parse_mark(mark) == ("host-a", "a" * 12)
    assert parse_mark("v=spf1 -all") is None
    assert parse_mark("heritage=external-dns,external-dns/owner=x") is None
    assert parse_mark(mark + ",extra") is None
    assert parse_mark(mark + "\n") is None  # '$' would have let a trailing newline through


@pytest.mark.parametrize(
    "owner, ok",
    [
        ("host-a", True),
        ("a.b_c-1", True),
        ("", False),
        ("-x", False),
        ("a,b", False),
        ("a=b", False),
        ("x" * 64, False),
        ('a"b', False),
        ("a\n", False),
        ("a/../b", False),
        ("..", False),
        ("a\x00", False),
        ("h\u00f6st", False),
    ],
)
def test_owner_ids(owner, ok):
    assert valid_owner_id(owner) is ok


def test_current_after_each_change():
    assert current_after(Create(WEB, claim(A_ID))) == OURS_A
    assert current_after(Replace(WEB, OURS_B, claim(A_ID))) == OURS_A
    assert current_after(Delete(WEB, OURS_A)) is None


@pytest.mark.parametrize(
    "earlier, later",
    [
        ("2026-11-28T01:50:18.1Z", "2026-11-28T01:50:18.12Z"),  # Docker drops trailing zeros: text order is wrong
        ("2026-11-28T01:50:18Z", "2026-11-28T01:50:18.000000001Z"),
        ("2026-11-28T01:50:18.999999999Z", "2026-11-28T01:50:19Z"),
        ("2026-11-28T02:50:18.5+02:00", "2026-11-28T01:50:18.6Z"),  # an offset is honoured
        ("garbage", "2026-11-28T01:50:18Z"),  # unreadable sorts first, deterministically
    ],
)
def test_created_is_compared_as_a_time(earlier, later):
    from dockernet.publish.plan import created_ns

    assert created_ns(earlier) < created_ns(later)


def test_the_oldest_container_wins_with_dockers_real_timestamp_spellings():
    older = Claim(WEB, "b" * 64, (("A", "10.1.0.3"),), 60, "2026-11-28T01:50:18.1Z")
    newer = Claim(WEB, "a" * 64, (("A", "10.1.0.2"),), 60, "2026-11-28T01:50:18.12Z")
    assert choose_winner([newer, older], None) is older
