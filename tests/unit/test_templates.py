"""Name templates, Compose names, round-robin replicas, SRV records and --address host (pure logic)."""

import dns.name
import pytest

from dockernet.engine.model import ContainerInfo, published_ports
from dockernet.errors import UsageError
from dockernet.publish.claims import RecordPolicy, claims_of
from dockernet.publish.plan import MAX_RRSET, Claim, Foreign, merge_replicas
from dockernet.publish.registry import ownership_mark, parse_mark
from dockernet.publish.templates import TemplateError, check, check_all, parse
from dockernet.runtime import DnsSettings
from tests.support import ZONE

REV4 = dns.name.from_text("1.10.in-addr.arpa")


def compose(cid, number, address, project="shop", service="web", ports=(), labels=None, created="2026-01-01"):
    """A container as Compose makes it: hostname = short id, name proj_service_N, its labels."""
    labels = {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.container-number": str(number),
        **(labels or {}),
    }
    cid = cid * 64 if len(cid) == 1 else cid
    return ContainerInfo(
        cid,
        f"{project}_{service}_{number}",
        cid[:12],
        True,
        created,
        (address,),
        labels,
        7,
        (("shop_default", address),),
        tuple(ports),
    )


def plain(hostname="web1", address="10.1.0.2", networks=None, labels=None, ports=()):
    networks = networks or (("bridge", address),)
    return ContainerInfo(
        "c" * 64,
        "app",
        hostname,
        True,
        "2026-01-01",
        tuple(sorted({a for _, a in networks})),
        labels or {},
        7,
        tuple(networks),
        tuple(ports),
    )


def policy(*templates, **kwargs):
    return RecordPolicy(ZONE, 60, templates=check_all(templates, ZONE), **kwargs)


def published(container, pol):
    said = []
    claims = claims_of(container, pol, lambda level, text: said.append((level, text)))
    return {claim.fqdn.to_text(): (claim.records, claim.group) for claim in claims}, said


# --- templates, checked at start-up ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, says",
    [
        ("{nme}", "unknown field '{nme}'"),
        ("{0}", "unknown field '{0}'"),
        ("{name.__class__}", "unknown field"),  # no attribute access: values are never formatted as objects
        ("{name!r}", "takes no format or conversion"),
        ("{name:>9}", "takes no format or conversion"),
        ("{name", "write fields as {name}"),
        ("", "gives an empty name"),
        ("..", "gives an empty name"),
        ("{name}.example.org.", "outside the zone docker.test."),
        ("{name} web", "is not a valid DNS label"),
    ],
)
def test_a_template_that_cannot_give_a_name_is_a_usage_error(text, says):
    with pytest.raises(TemplateError, match=None) as raised:
        check(text, ZONE)
    assert says in str(raised.value)
    assert isinstance(raised.value, UsageError) and raised.value.exit_code == 2


def test_settings_check_the_templates_when_made():
    with pytest.raises(TemplateError):
        DnsSettings(zone=ZONE, name_templates=("{nope}",))
    with pytest.raises(UsageError, match="only with --address host"):
        DnsSettings(zone=ZONE, host_address="192.0.2.1", address_mode="container")
    DnsSettings(zone=ZONE, host_address="192.0.2.1")  # --address left to the engine: the address implies host
    assert [t.text for t in DnsSettings(zone=ZONE).templates] == ["{hostname}"]


def test_templates_that_can_give_a_name_pass():
    assert check("{service}.{project}", ZONE).names_service
    assert not check("{name}.{project}", ZONE).names_service
    assert check("{name}.docker.test.", ZONE).fields == {"name"}
    assert check("app-{id}", ZONE).fields == {"id"}


def test_render_is_missing_only_when_a_field_is_missing_and_the_name_check_refuses_bad_values():
    template = parse("{service}.{project}")
    assert template.render({"service": "web", "project": "shop"}) == ("web.shop", False)
    assert template.render({"service": "web"}) is None
    assert template.render({"service": "web", "project": ""}) is None
    assert parse("{hostname}").render({"hostname": "web1.docker.test"}) == ("web1.docker.test", True)
    for bad in ("sh op", "shop\n", "sh{op}", "x" * 64):
        decision = template.name_for({"service": "web", "project": bad}, ZONE)
        assert decision.skipped and "is not a valid DNS label" in decision.note


# --- what a container publishes -----------------------------------------------------------------


def test_default_keeps_the_hostname_and_adds_the_compose_service_name():
    names, said = published(compose("a", 1, "10.1.0.2"), policy())
    assert names == {
        "shop-web-1.docker.test.": ((("A", "10.1.0.2"),), ""),
        "web.shop.docker.test.": ((("A", "10.1.0.2"),), "web.shop"),
    }
    assert any("made a valid DNS name from 'shop_web_1'" in text for _, text in said)
    names, _ = published(compose("a", 1, "10.1.0.2"), policy(compose_names=False))
    assert list(names) == ["shop-web-1.docker.test."]
    names, _ = published(plain(), policy())  # no Compose labels: no service name, nothing said about it
    assert list(names) == ["web1.docker.test."]


def test_templates_replace_the_default_and_skip_containers_that_lack_a_field():
    pol = policy("{number}.{service}.{project}", "{name}-{id}")
    names, _ = published(compose("a", 2, "10.1.0.2"), pol)
    assert set(names) == {"2.web.shop.docker.test.", "shop-web-2-aaaaaaaaaaaa.docker.test.", "web.shop.docker.test."}
    names, said = published(plain(), pol)
    assert list(names) == ["app-cccccccccccc.docker.test."] and said == []


def test_a_dotted_value_makes_a_full_name_as_hostnames_always_did():
    names, said = published(plain(hostname="web1.other.org"), policy("{hostname}.x"))
    assert names == {} and "outside the zone" in said[0][1]
    names, _ = published(plain(hostname="api.docker.test"), policy())
    assert list(names) == ["api.docker.test."]


def test_network_field_gives_one_name_per_network_with_its_addresses():
    container = plain(networks=(("front", "10.1.0.2"), ("back", "10.9.0.2")))
    names, _ = published(container, policy("{hostname}.{network}"))
    assert names == {
        "web1.front.docker.test.": ((("A", "10.1.0.2"),), ""),
        "web1.back.docker.test.": ((("A", "10.9.0.2"),), ""),
    }


def test_labels_still_win_over_templates():
    container = compose("a", 1, "10.1.0.2", labels={"dockernet.name": "api", "dockernet.aliases": "v2"})
    names, _ = published(container, policy("{name}"))
    assert set(names) == {"api.docker.test.", "v2.docker.test.", "web.shop.docker.test."}


def test_hostile_compose_labels_cost_only_their_own_name():
    container = compose("a", 1, "10.1.0.2", service="web\nx", project="shop")
    names, said = published(container, policy())
    assert names == {}  # its container name has the newline too
    assert len(said) == 2 and all(
        "\n" not in text and ("'web\\nx" in text or "shop_web\\nx_1" in text) for _, text in said
    )
    names, _ = published(compose("a", 1, "10.1.0.2", service="Web_Front"), policy())
    assert "web-front.shop.docker.test." in names and names["web-front.shop.docker.test."][1] == "web-front.shop"


def test_ptr_points_at_the_containers_own_name_never_at_the_service():
    names, _ = published(compose("a", 1, "10.1.0.2"), policy(reverse_zones=(REV4,)))
    assert names["2.0.1.10.in-addr.arpa."] == ((("PTR", "shop-web-1.docker.test."),), "")
    names, _ = published(compose("a", 1, "10.1.0.2"), policy("{service}.{project}", reverse_zones=(REV4,)))
    assert not any(name.endswith("arpa.") for name in names)  # only a shared name: no PTR to point at


# --- SRV and --address host ---------------------------------------------------------------------


def test_published_ports_are_read_once_per_port_and_protocol():
    ports = {
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "", "HostPort": "5353"}],
        "443/tcp": None,
        "9/tcp": [{"HostPort": ""}],
        "bad/tcp": [{"HostPort": "1"}],
        "7/icmp": [{"HostPort": "7"}],
    }
    assert published_ports(ports) == ((53, "udp", 5353), (80, "tcp", 8080))
    assert published_ports(None) == ()


def test_srv_only_when_asked_for_with_the_labelled_service_name():
    ports = ((80, "tcp", 8080), (5432, "tcp", 15432))
    assert "_http._tcp.web1.docker.test." not in published(plain(ports=ports), policy())[0]
    container = plain(ports=ports, labels={"dockernet.srv": "true", "dockernet.srv.80": "http"})
    names, _ = published(container, policy())
    assert names["_http._tcp.web1.docker.test."] == ((("SRV", "0 0 80 web1.docker.test."),), "")
    assert names["_5432._tcp.web1.docker.test."] == ((("SRV", "0 0 5432 web1.docker.test."),), "")
    names, _ = published(plain(ports=ports, labels={"dockernet.srv": "false"}), policy(publish_ports=True))
    assert not any(name.startswith("_") for name in names)


def test_an_invalid_srv_service_label_skips_that_port_only():
    container = plain(
        ports=((80, "tcp", 8080), (81, "tcp", 8081)), labels={"dockernet.srv.80": "h\nttp", "dockernet.srv.81": "admin"}
    )
    names, said = published(container, policy(publish_ports=True))
    assert [name for name in names if name.startswith("_")] == ["_admin._tcp.web1.docker.test."]
    assert "'h\\nttp'" in said[0][1] and "\n" not in said[0][1]


def test_address_host_publishes_the_host_for_containers_that_publish_ports():
    pol = policy(publish_ports=True, address="host", host_address="192.0.2.7", reverse_zones=(REV4,))
    names, _ = published(
        compose("a", 1, "10.1.0.2", ports=((80, "tcp", 8080),), labels={"dockernet.srv.80": "http"}), pol
    )
    assert names["shop-web-1.docker.test."] == ((("A", "192.0.2.7"),), "")
    assert names["web.shop.docker.test."] == ((("A", "192.0.2.7"),), "web.shop")
    assert names["_http._tcp.shop-web-1.docker.test."][0] == (("SRV", "0 0 8080 shop-web-1.docker.test."),)
    # the service's SRV points at each replica's own name: one record per replica once merged
    assert names["_http._tcp.web.shop.docker.test."] == ((("SRV", "0 0 8080 shop-web-1.docker.test."),), "web.shop")
    assert not any(name.endswith("arpa.") for name in names)  # the host's PTR is not ours
    names, _ = published(compose("b", 2, "10.1.0.3"), pol)  # publishes nothing: its own address
    assert names["shop-web-2.docker.test."][0] == (("A", "10.1.0.3"),)


# --- round-robin replicas -----------------------------------------------------------------------


def test_service_marks_round_trip_and_stay_apart_from_container_marks():
    mark = ownership_mark("host-a", "web.shop")
    assert mark == "heritage=dockernet,owner=host-a,service=web.shop"
    assert parse_mark(mark) == ("host-a", "web.shop")
    assert parse_mark(mark + "\n") is None
    assert parse_mark("heritage=dockernet,owner=host-a,service=web") is None
    assert parse_mark("heritage=dockernet,owner=host-a,service=we b.shop") is None


def test_replicas_merge_into_one_claim_held_by_the_service():
    fqdn = dns.name.from_text("web.shop.docker.test")
    claims = [
        Claim(fqdn, "b" * 64, (("A", "10.1.0.3"),), 60, "2026-01-02", "web.shop"),
        Claim(fqdn, "a" * 64, (("A", "10.1.0.2"),), 30, "2026-01-01", "web.shop"),
        Claim(fqdn, "c" * 64, (("A", "10.1.0.4"),), 60, "2026-01-03"),
    ]
    merged = merge_replicas(claims)
    assert merged[0].container_id == "c" * 64
    service = merged[1]
    assert (service.short_id, service.records, service.ttl, service.created) == (
        "web.shop",
        (("A", "10.1.0.2"), ("A", "10.1.0.3")),
        30,
        "2026-01-01",
    )


def test_scaling_a_service_changes_one_rrset_and_the_last_replica_removes_it(zone, reconciler_for):
    rec = reconciler_for(policy())
    service = dns.name.from_text("web.shop.docker.test")
    replicas = [compose(c, n, f"10.1.0.{n + 1}") for n, c in enumerate("abc", start=1)]
    rec.full(replicas)
    assert zone.names[service].short_id == "web.shop"
    assert zone.names[service].records == (("A", "10.1.0.2"), ("A", "10.1.0.3"), ("A", "10.1.0.4"))
    for replica in replicas[1:]:
        rec.container_changed(replica.id, None)
    assert zone.names[service].records == (("A", "10.1.0.2"),)
    assert dns.name.from_text("shop-web-2.docker.test") not in zone.names
    rec.container_changed(replicas[0].id, None)
    assert service not in zone.names and zone.names == {}


def test_another_owners_service_name_is_left_alone(zone, reconciler_for):
    service = dns.name.from_text("web.shop.docker.test")
    zone.names[service] = Foreign("host-b")
    rec = reconciler_for(policy())
    rec.full([compose("a", 1, "10.1.0.2")])
    assert zone.names[service].holder == "host-b"
    assert service in rec.blocked.held
    assert dns.name.from_text("shop-web-1.docker.test") in zone.names  # its own name is published all the same


def test_remarks_about_a_template_name_are_escaped():
    names, said = published(plain(hostname="bad\x1bname"), policy("{hostname}-x"))
    assert names == {} and said[0][1].endswith(
        "'bad\\x1bname-x' is not a valid DNS label (letters, digits, hyphens; 1-63 long)"
    )
    names, said = published(plain(hostname="web1", labels={"dockernet.aliases": "a\x1bb"}), policy())
    assert list(names) == ["web1.docker.test."]
    assert "\x1b" not in said[0][1] and "a\\x1bb" in said[0][1]


def test_a_compose_run_container_is_no_replica():
    container = compose("a", 1, "10.1.0.2", labels={"com.docker.compose.oneoff": "True"})
    names, said = published(container, policy("{hostname}", "{service}.{project}"))
    assert list(names) == ["shop-web-1.docker.test."]
    assert not any("web.shop" in text for _, text in said)


def test_srv_names_are_synced_after_the_names_they_point_at(zone, reconciler_for):
    rec = reconciler_for(policy(publish_ports=True))
    rec.container_changed("a" * 64, compose("a", 1, "10.1.0.2", ports=((80, "tcp", 8080),)))
    order = [change.fqdn.to_text() for change in zone.sent]
    assert order == [
        "shop-web-1.docker.test.",
        "web.shop.docker.test.",
        "_80._tcp.shop-web-1.docker.test.",
        "_80._tcp.web.shop.docker.test.",
    ]


def test_a_shared_name_holds_the_oldest_replicas_up_to_the_limit(zone, reconciler_for, caplog):
    rec = reconciler_for(policy(compose_names=True))
    service = dns.name.from_text("web.shop.docker.test")
    count = MAX_RRSET + 6
    replicas = [
        compose(
            f"{n:012x}" + "0" * 52,
            n,
            f"10.1.{n // 200}.{n % 200 + 2}",
            created=f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z",
        )
        for n in range(1, count + 1)
    ]
    caplog.set_level("WARNING")
    rec.full(replicas)
    held = zone.names[service].records
    assert len(held) == MAX_RRSET
    assert held == tuple(sorted(("A", info.addresses[0]) for info in replicas[:MAX_RRSET]))
    assert all(dns.name.from_text(f"shop-web-{n}.docker.test") in zone.names for n in range(1, count + 1))
    said = [r.getMessage() for r in caplog.records if "oldest replicas" in r.getMessage()]
    assert said == [
        f"{service} holds the records of its {MAX_RRSET} oldest replicas per type, the most a "
        "shared name takes; 6 more are published under their own names only"
    ]
    rec.container_changed(replicas[0].id, None)  # the oldest goes: the next one takes its place
    assert ("A", replicas[MAX_RRSET].addresses[0]) in zone.names[service].records
    assert len(zone.names[service].records) == MAX_RRSET


def test_a_replica_with_more_records_than_a_shared_name_takes_is_left_out_not_fatal():
    fqdn = dns.name.from_text("web.shop.docker.test")
    crowded = Claim(fqdn, "a" * 64, tuple(("A", f"10.1.0.{n}") for n in range(1, 4)), 60, "", "web.shop")
    assert merge_replicas([crowded], limit=2) == []
    small = Claim(fqdn, "b" * 64, (("A", "10.1.1.1"),), 60, "2027-01-01", "web.shop")
    (merged,) = merge_replicas([crowded, small], limit=2)
    assert merged.records == (("A", "10.1.1.1"),) and merged.left_out == 1


def test_no_name_asks_for_more_records_of_a_type_than_the_limit():
    ports = tuple((80, "tcp", 20000 + n) for n in range(MAX_RRSET + 5))
    container = plain(ports=ports)
    names, said = published(container, policy(publish_ports=True, address="host", host_address="192.0.2.7"))
    srv = names["_80._tcp.web1.docker.test."][0]
    assert len(srv) == MAX_RRSET and srv == tuple(sorted(srv))
    assert [text for _, text in said] == [
        f"Container (cccccccccccc): _80._tcp.web1.docker.test. would hold more than {MAX_RRSET} records of a type; "
        f"publishing the first {MAX_RRSET} of each (5 left out)"
    ]
    networks = tuple((f"n{n}", f"10.{n}.0.2") for n in range(MAX_RRSET + 1))
    names, _ = published(plain(networks=networks), policy())
    assert len(names["web1.docker.test."][0]) == MAX_RRSET
