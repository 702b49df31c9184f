import ipaddress
import stat

import dns.name
import dns.zone
import pytest

from dockernet.errors import FileConflict
from dockernet.host.dnsinit import InitSpec, render_all, reverse_zone, write_files
from dockernet.rfc2136.tsigkey import parse_key_text


@pytest.mark.parametrize(
    "subnet, zone",
    [
        ("10.1.0.0/16", "1.10.in-addr.arpa."),
        ("10.1.0.0/20", "1.10.in-addr.arpa."),
        ("192.168.7.0/24", "7.168.192.in-addr.arpa."),
        ("10.0.0.0/8", "10.in-addr.arpa."),
        ("fd00:1:2::/48", "2.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa."),
        ("fd00:1:2::/50", "2.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa."),
    ],
)
def test_reverse_zone_is_cut_on_octet_or_nibble_boundaries(subnet, zone):
    assert reverse_zone(ipaddress.ip_network(subnet)) == dns.name.from_text(zone)


def spec(tmp_path, **kw):
    return InitSpec(zone=dns.name.from_text("docker.test"), directory=tmp_path, port=5353, **kw)


def test_rendered_files_parse(tmp_path):
    subnets = (ipaddress.ip_network("10.1.0.0/16"), ipaddress.ip_network("fd00:d0c::/64"))
    files = render_all(spec(tmp_path, subnets=subnets), "MDEyMzQ1Njc4OWFiY2RlZg==")
    assert set(files) == {
        "ddns.key",
        "named.conf",
        "docker.test.zone",
        "1.10.in-addr.arpa.zone",
        "0.0.0.0.0.0.0.0.c.0.d.0.0.0.d.f.ip6.arpa.zone",
    }
    key = parse_key_text(files["ddns.key"][0])
    assert key.label == "ddns-key" and files["ddns.key"][1] == 0o600
    zone = dns.zone.from_text(files["docker.test.zone"][0], origin="docker.test.", relativize=False)
    assert zone.get_rdataset("docker.test.", "SOA") is not None
    conf = files["named.conf"][0]
    assert 'allow-update { key "ddns-key"; };' in conf and "listen-on port 5353 { 127.0.0.1; };" in conf
    assert 'zone "1.10.in-addr.arpa"' in conf


def test_ipv6_listen_address(tmp_path):
    conf = render_all(spec(tmp_path, listen="::1"), "MDEy")["named.conf"][0]
    assert "listen-on port 5353 { none; };" in conf and "listen-on-v6 port 5353 { ::1; };" in conf


def test_write_files_refuses_to_overwrite_anything_unless_forced(tmp_path):
    files = render_all(spec(tmp_path), "MDEyMzQ1Njc4OWFiY2RlZg==")
    (tmp_path / "named.conf").write_text("mine")
    with pytest.raises(FileConflict):
        write_files(tmp_path, files, force=False)
    assert (tmp_path / "named.conf").read_text() == "mine"
    assert not (tmp_path / "ddns.key").exists()  # nothing half-written
    write_files(tmp_path, files, force=True)
    assert (tmp_path / "named.conf").read_text() == files["named.conf"][0]
    assert stat.S_IMODE((tmp_path / "ddns.key").stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))


def test_no_transfer_grants_updates_but_not_axfr(tmp_path):
    conf = render_all(spec(tmp_path, allow_transfer=False), "MDEy")["named.conf"][0]
    assert 'allow-update { key "ddns-key"; };' in conf and "allow-transfer { none; };\n}" in conf
    assert "allow-transfer { key" not in conf


def test_a_failing_write_leaves_no_partial_set(tmp_path):
    from dockernet.errors import DockernetError

    files = render_all(spec(tmp_path), "MDEyMzQ1Njc4OWFiY2RlZg==")
    (tmp_path / "docker.test.zone").mkdir()  # the third file cannot be written: a directory holds its name
    with pytest.raises(DockernetError, match="cannot write into"):
        write_files(tmp_path, files, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docker.test.zone"]


def test_a_failing_forced_write_puts_back_what_it_overwrote(tmp_path):
    from dockernet.errors import DockernetError

    old_key = 'key "old" { algorithm hmac-sha256; secret "b2xkb2xkb2xk"; };\n'
    (tmp_path / "ddns.key").write_text(old_key)
    (tmp_path / "ddns.key").chmod(0o600)
    (tmp_path / "docker.test.zone").mkdir()  # a later file cannot be written
    files = render_all(spec(tmp_path), "MDEyMzQ1Njc4OWFiY2RlZg==")
    with pytest.raises(DockernetError, match="cannot write into"):
        write_files(tmp_path, files, force=True)
    assert (tmp_path / "ddns.key").read_text() == old_key
    assert (tmp_path / "ddns.key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddns.key", "docker.test.zone"]
