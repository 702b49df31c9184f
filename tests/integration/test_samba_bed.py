"""The Samba AD DC test bed itself (#26): Kerberos from a keytab, and GSS-TSIG updates with ``nsupdate -g``.

What dockernet does against it is tested elsewhere; these prove the bed is a
real AD DNS server worth testing on, and pin down how it behaves (the facts in
tests/samba.py's docstring).
"""

import importlib.util
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from dockernet.pidfile import process_alive
from tests.harness import REPO, need


@pytest.fixture
def ccache(samba_dc, request):
    """A credential cache of this test's own, in the run dir (never the default one)."""
    directory = samba_dc.base / "ccaches"
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / format(zlib.crc32(request.node.nodeid.encode()), "08x")
    path.unlink(missing_ok=True)
    return path


def logged_in(samba_dc, account: str, ccache: Path) -> Path:
    principal, keytab = samba_dc.account_keytab(account)
    samba_dc.kinit(principal, keytab, ccache)
    return ccache


def test_dc_serves_the_zone_from_its_namespace_only(samba_dc):
    print(
        f"provision {samba_dc.provision_seconds:.1f} s, start {samba_dc.start_seconds:.1f} s, "
        f"{len(samba_dc.processes())} processes, PSS {samba_dc.memory_kib() // 1024} MiB"
    )
    assert samba_dc.soa_mname() == "dc1.ad.test"
    assert samba_dc.gss_principal == "DNS/dc1.ad.test@AD.TEST"
    assert samba_dc.query("dc1", "A") == {samba_dc.address}
    # every samba process is in the bed's network namespace: none listens in the host's
    bed = os.stat(samba_dc.netns_path).st_ino
    pids = samba_dc.processes()
    assert len(pids) > 1
    assert {os.stat(f"/proc/{pid}/ns/net").st_ino for pid in pids} == {bed}


def test_kinit_from_keytab_gets_the_dns_service_ticket(samba_dc, ccache):
    logged_in(samba_dc, "dnt-one", ccache)
    rcode, _ = samba_dc.nsupdate(["zone ad.test", "update add kinit-probe.ad.test 300 A 10.1.0.40"], ccache)
    assert rcode == "NOERROR"
    tickets = subprocess.run(["klist", "-c", str(ccache)], capture_output=True, text=True, check=True).stdout
    assert "krbtgt/AD.TEST@AD.TEST" in tickets
    assert samba_dc.gss_principal in tickets


def test_nsupdate_g_adds_a_txt_and_srv(samba_dc, ccache):
    logged_in(samba_dc, "dnt-one", ccache)
    rcode, output = samba_dc.nsupdate(
        [
            "zone ad.test",
            "update add web.ad.test 300 A 10.1.0.5",
            'update add web.ad.test 300 TXT "dockernet owner=one"',
            "update add _http._tcp.web.ad.test 300 SRV 0 0 80 web.ad.test.",
        ],
        ccache,
    )
    assert rcode == "NOERROR", output
    assert samba_dc.query("web", "A") == {"10.1.0.5"}
    assert samba_dc.query("web", "TXT") == {'"dockernet owner=one"'}
    assert samba_dc.query("_http._tcp.web", "SRV") == {"0 0 80 web.ad.test."}
    # Samba signs its answer over the request's MAC without its length: BIND's check fails (the module's doc)
    assert "tsig verify failure" in output


def test_ptr_into_the_reverse_zones(samba_dc, ccache):
    assert samba_dc.reverse_zones == ["1.10.in-addr.arpa", "0.0.0.0.0.0.0.0.c.0.d.0.0.0.d.f.ip6.arpa"]
    logged_in(samba_dc, "dnt-one", ccache)
    v4, v6 = samba_dc.reverse_zones
    rcode, output = samba_dc.nsupdate([f"zone {v4}", f"update add 6.0.{v4}. 300 PTR ptr-probe.ad.test."], ccache)
    assert rcode == "NOERROR", output
    six = "6.0.0.0." + "0.0.0.0." * 3
    rcode, output = samba_dc.nsupdate([f"zone {v6}", f"update add {six}{v6}. 300 PTR ptr-probe.ad.test."], ccache)
    assert rcode == "NOERROR", output
    assert samba_dc.query(f"6.0.{v4}.", "PTR") == {"ptr-probe.ad.test."}
    assert samba_dc.query(f"{six}{v6}.", "PTR") == {"ptr-probe.ad.test."}


def test_unsigned_update_is_refused(samba_dc):
    rcode, output = samba_dc.nsupdate(["zone ad.test", "update add unsigned.ad.test 300 A 10.1.0.7"])
    assert rcode == "REFUSED", output
    assert samba_dc.query("unsigned", "A") == set()


def test_another_account_cannot_touch_a_name_it_does_not_own_but_adds_its_own(samba_dc, ccache):
    first = logged_in(samba_dc, "dnt-one", ccache)
    rcode, _ = samba_dc.nsupdate(["zone ad.test", "update add owned.ad.test 300 A 10.1.0.8"], first)
    assert rcode == "NOERROR"
    second = logged_in(samba_dc, "dnt-two", ccache.with_name(ccache.name + "-two"))
    replace = ["zone ad.test", "update delete owned.ad.test A", "update add owned.ad.test 300 A 10.1.0.66"]
    rcode, output = samba_dc.nsupdate(replace, second)
    assert rcode == "SERVFAIL", output  # AD's ACL on the name's dnsNode: not REFUSED
    rcode, output = samba_dc.nsupdate(["zone ad.test", 'update add owned.ad.test 300 TXT "two"'], second)
    assert rcode == "SERVFAIL", output  # another type at the name is no better
    assert samba_dc.query("owned", "A") == {"10.1.0.8"}
    assert samba_dc.query("owned", "TXT") == set()
    rcode, output = samba_dc.nsupdate(["zone ad.test", "update add owned-two.ad.test 300 A 10.1.0.9"], second)
    assert rcode == "NOERROR", output
    assert samba_dc.query("owned-two", "A") == {"10.1.0.9"}


def test_axfr_is_not_served(samba_dc):
    response = samba_dc.tcp(dns.message.make_query("ad.test", "AXFR"))
    # no REFUSED: a NOERROR with no records and the SOA in the authority section
    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []
    assert [rrset.rdtype for rrset in response.authority] == [dns.rdatatype.SOA]


def gss_client(samba_dc, ccache: Path) -> subprocess.Popen:
    need("python gssapi", importlib.util.find_spec("gssapi") is not None, "pip install gssapi")
    return subprocess.Popen(
        [*samba_dc.enter(), sys.executable, "-m", "tests.gss_client", samba_dc.address, samba_dc.zone, samba_dc.fqdn],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=samba_dc.env(ccache),
        cwd=REPO,
    )


def ask(client: subprocess.Popen, command: str) -> dict:
    assert client.stdin is not None and client.stdout is not None
    client.stdin.write(command + "\n")
    client.stdin.flush()
    answer = json.loads(client.stdout.readline())
    assert "error" not in answer, answer
    return answer


def test_answers_are_signed_over_the_request_mac_without_its_length(samba_dc, ccache):
    client = gss_client(samba_dc, logged_in(samba_dc, "dnt-one", ccache))
    try:
        ask(client, "negotiate")
        answer = ask(client, "update mac-probe A 10.1.0.10")
    finally:
        client.stdin.close()  # type: ignore[union-attr]
        client.wait(timeout=10)
    assert answer["rcode"] == "NOERROR" and answer["signed"]
    assert answer == {**answer, "verifies_rfc": False, "verifies_without_length": True}
    assert samba_dc.query("mac-probe", "A") == {"10.1.0.10"}


def test_restart_forgets_a_negotiated_context_and_a_new_one_works(samba_dc, ccache):
    client = gss_client(samba_dc, logged_in(samba_dc, "dnt-one", ccache))
    try:
        ask(client, "negotiate")
        assert ask(client, "update before-restart A 10.1.0.11")["rcode"] == "NOERROR"
        old = samba_dc.processes()
        samba_dc.stop()
        assert not [pid for pid in old if process_alive(pid)]  # the master and every worker
        samba_dc.start()
        after = ask(client, "update after-restart A 10.1.0.12")
        assert after == {"rcode": "NOTAUTH", "tsig_error": 17, "signed": False}  # BADKEY, unsigned
        assert samba_dc.query("after-restart", "A") == set()
        ask(client, "negotiate")
        assert ask(client, "update renegotiated A 10.1.0.13")["rcode"] == "NOERROR"
    finally:
        client.stdin.close()  # type: ignore[union-attr]
        client.wait(timeout=10)
    assert samba_dc.query("before-restart", "A") == {"10.1.0.11"}  # kept in the directory
    assert samba_dc.query("renegotiated", "A") == {"10.1.0.13"}
