"""The ownership registry: one rule of "ours" behind classification, the transfer filter and adoption."""

import dns.name
import pytest

from dockernet.publish.registry import (
    Foreign,
    Lease,
    NameRecords,
    Owned,
    current_of,
    holder_of,
    is_lease_name,
    lease_name,
    leases_in,
    ownership_mark,
    transfer_filter,
)
from dockernet.sync.adopt import names_of_owner

ZONE = dns.name.from_text("docker.test.")
WEB = dns.name.from_text("web.docker.test.")
DB = dns.name.from_text("db.docker.test.")
MINE = ownership_mark("host-a", "a1b2c3d4e5f6")
THEIRS = ownership_mark("host-b", "b1b2c3d4e5f6")


@pytest.mark.parametrize(
    "texts, expected",
    [
        ([MINE], "a1b2c3d4e5f6"),
        ([ownership_mark("host-a", "web.shop")], "web.shop"),
        ([THEIRS], None),
        ([MINE, "v=spf1 -all"], None),  # someone added TXT data: the RRset is not exactly our mark
        ([], None),
    ],
)
def test_a_name_is_ours_only_when_its_txt_is_exactly_one_mark_of_ours(texts, expected):
    assert holder_of(texts, "host-a") == expected


def test_the_transfer_filter_keeps_our_names_the_wanted_ones_or_everything():
    keep = transfer_filter("host-a", wanted={DB})
    assert keep(WEB, [MINE]) and keep(DB, [THEIRS]) and not keep(WEB, [THEIRS])
    assert transfer_filter("host-a", everything=True)(WEB, [THEIRS])


def test_a_transferred_name_carries_its_records_only_when_it_is_ours():
    found = NameRecords([MINE], [("A", "10.1.0.3"), ("A", "10.1.0.2")], 60)
    assert current_of(found, "host-a") == Owned("a1b2c3d4e5f6", (("A", "10.1.0.2"), ("A", "10.1.0.3")), 60)
    assert current_of(found, "host-b") == Foreign("host-a")


def test_adoption_and_the_lease_listing_read_the_same_transfer():
    lease = Lease("host-b", "ENGINE:B", "b", 1700000000, 60)
    transferred = {
        WEB: NameRecords([THEIRS], [("A", "10.1.0.2")], 60),
        DB: NameRecords([MINE], [], 0),
        lease_name("host-b", ZONE): NameRecords([lease.text()], [], 0),
    }
    assert names_of_owner(transferred, "host-b") == {WEB: "b1b2c3d4e5f6"}
    assert leases_in(transferred, ZONE) == {"host-b": lease}
    assert is_lease_name(lease_name("host.b", ZONE), ZONE)
