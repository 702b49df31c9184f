"""``dockernet topology``'s drawing, from a fixed model: tree (plain and coloured), JSON and DOT match golden files."""

import json
from pathlib import Path

import dns.name
import pytest

from dockernet.ddns import Transfer
from dockernet.host.topology import (
    BY_HAND,
    MISSING,
    OTHER_CONTAINER,
    OTHER_OWNER,
    PUBLISHED,
    NameNode,
    build,
    name_state,
    render_dot,
    render_tree,
)
from dockernet.publish.plan import Foreign, Owned

GOLDEN = Path(__file__).parent / "golden"


def fixed_model():
    web = [NameNode("web.docker.test.", PUBLISHED), NameNode("2.0.1.10.in-addr.arpa.", PUBLISHED)]
    return build(
        bridges={"docker0": ("10.1.0.1/16", "fd00:d0c::1/64"), "br-1a2b3c4d5e6f": ("172.18.0.1/16",)},
        ports={"veth0a1": "docker0", "veth0b2": "docker0", "veth0c3": "docker0", "veth1d4": "br-1a2b3c4d5e6f"},
        containers=[
            {
                "name": "web",
                "id": "a1b2c3d4e5f6",
                "addresses": ["10.1.0.2", "172.18.0.2"],
                "names": web,
                "ports": ["veth0a1", "veth1d4"],
            },
            {
                "name": "db",
                "id": "b2c3d4e5f6a1",
                "addresses": ["10.1.0.3"],
                "ports": ["veth0b2"],
                "names": [NameNode("db.docker.test.", OTHER_OWNER, "host-b"), NameNode("pg.docker.test.", BY_HAND)],
            },
            {
                "name": "web-2",
                "id": "c3d4e5f6a1b2",
                "addresses": ["10.1.0.4"],
                "ports": ["vethgone"],
                "names": [
                    NameNode("web.docker.test.", OTHER_CONTAINER, "a1b2c3d4e5f6"),
                    NameNode("new.docker.test.", MISSING),
                ],
            },
            {"name": "quiet", "id": "d4e5f6a1b2c3", "addresses": [], "names": [], "ports": []},
        ],
    )


@pytest.mark.parametrize(
    "golden, draw",
    [
        ("topology.txt", lambda model: render_tree(model) + "\n"),
        ("topology.color.txt", lambda model: render_tree(model, color=True) + "\n"),
        ("topology.json", lambda model: json.dumps(model.to_dict(), indent=2) + "\n"),
        ("topology.dot", render_dot),
    ],
)
def test_drawings_match_golden(golden, draw):
    assert draw(fixed_model()) == (GOLDEN / golden).read_text()


def test_every_port_is_drawn_and_a_container_behind_two_bridges_appears_under_both():
    model = fixed_model()
    ports = {port.ifname: port.container for bridge in model.bridges for port in bridge.ports}
    assert ports["veth0c3"] is None  # a port with no container is kept
    assert ports["veth0a1"] is ports["veth1d4"]  # the same container, on docker0 and on the user network
    assert [node.name for node in model.elsewhere] == ["quiet", "web-2"]  # its veth is on no bridge drawn


@pytest.mark.parametrize(
    "current, state, holder",
    [
        (Owned("a1b2c3d4e5f6", (), 60), PUBLISHED, ""),
        (Owned("ffffffffffff", (), 60), OTHER_CONTAINER, "ffffffffffff"),
        (Foreign("host-b"), OTHER_OWNER, "host-b"),
        (Foreign(""), BY_HAND, ""),
        (None, MISSING, ""),
    ],
)
def test_a_names_state_comes_from_what_the_zone_holds(current, state, holder):
    node = name_state(dns.name.from_text("web.docker.test."), "a1b2c3d4e5f6", current)
    assert (node.name, node.state, node.holder) == ("web.docker.test.", state, holder)


def test_a_container_name_cannot_put_control_characters_on_the_terminal():
    model = build(
        {"docker0": ()},
        {"veth0": "docker0"},
        [{"name": "evil\x1b[2J\nroot", "id": "e" * 12, "addresses": [], "names": [], "ports": ["veth0"]}],
    )
    for drawing in (render_tree(model), render_dot(model)):
        assert "\x1b" not in drawing and "evil\nroot" not in drawing
    assert "evil\\x1b[2J\\nroot" in render_tree(model)


class _Nameserver:
    """Stands in for ddns.Nameserver in the forked child: only what _transfer_aside touches."""

    def __init__(self, result=None, reason="", error=None):
        self.result, self.reason, self.error = result, reason, error

    def transfer(self, everything=False):
        assert everything
        if self.error:
            raise self.error
        return Transfer(refused=self.reason) if self.reason else Transfer(self.result)


def test_the_transfer_aside_returns_what_the_child_read_and_why_it_could_not():
    from dockernet.host.topology import _transfer_aside

    nameserver = _Nameserver(result={"web.docker.test.": "owned"})
    assert _transfer_aside(nameserver)().names == {"web.docker.test.": "owned"}
    refused = _Nameserver(result=None, reason="127.0.0.1#53 answered REFUSED")
    assert _transfer_aside(refused)().refused == "127.0.0.1#53 answered REFUSED"


def test_the_transfer_asides_error_is_raised_in_the_parent_with_its_hint_and_code():
    from dockernet.errors import DnsRejected
    from dockernet.host.topology import _transfer_aside

    error = DnsRejected("transfer refused by 127.0.0.1#53", hint="grant allow-transfer", code="NOTAUTH")
    with pytest.raises(DnsRejected) as raised:
        _transfer_aside(_Nameserver(error=error))()
    assert (str(raised.value), raised.value.code) == (str(error), "NOTAUTH")
