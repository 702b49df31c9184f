"""The Kerberos test bed itself (#26): a private MIT KDC and a named that takes GSS-TSIG updates.

BIND's own client (``nsupdate -g``) proves the bed before dockernet's client is tested on it: a granted
principal's update lands, an ungranted one's and a denied name's are REFUSED at UPDATE time (the TKEY
handshake succeeds for any valid ticket), no default credentials cache is written, and a 30 s ticket's
negotiated key ends at the ticket's end plus named's clock skew, after which its context gets BADKEY.
"""

import importlib.util
import re
import time

import dns.query
import dns.rcode
import dns.tsig
import dns.update
import pytest

from tests.harness import SUBNET, ZONE, need, wait_for
from tests.kerberos import CLOCKSKEW, DENIED, HOST1, HOST2, SHORT, negotiate_gss_tsig, snapshot


def _kinit(kdc, keytabs, who):
    return kdc.kinit(who, keytabs[who], kdc.dir / f"{who.replace('/', '-')}.ccache")


def test_named_conf_has_the_keytab_and_an_updatebed_policy_per_zone(named_krb):
    conf = (named_krb.dir / "named.conf").read_text()
    assert f'tkey-gssapi-keytab "{named_krb.keytab}";' in conf
    assert named_krb.service_principal == "DNS/ns.docker.test@KRB.TEST"
    assert "allow-update" not in conf
    zones = named_krb.zones()
    assert len(zones) == 3 and ZONE in zones and "1.10.in-addr.arpa" in zones
    assert conf.count("update-policy {") == 3
    assert f'grant "{HOST1}@KRB.TEST" subdomain 1.10.in-addr.arpa. ANY;' in conf
    assert (named_krb.keytab.stat().st_mode & 0o777) == 0o600


def test_granted_principal_adds_a_and_ptr_with_nsupdate_g(kdc, keytabs, named_krb):
    env = _kinit(kdc, keytabs, HOST1)
    result = named_krb.nsupdate(env, f"update add web.{ZONE} 60 A 10.1.0.5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert named_krb.query("web") == {"10.1.0.5"}
    assert SUBNET == "10.1.0.0/16"  # the reverse zone below is dns init's for it
    result = named_krb.nsupdate(env, f"update add 5.0.1.10.in-addr.arpa 60 PTR web.{ZONE}.", zone="1.10.in-addr.arpa")
    assert result.returncode == 0, result.stdout + result.stderr
    log = named_krb.log_text()
    assert rf"/key {HOST1}\@KRB.TEST: updating zone '{ZONE}/IN': adding an RR at 'web.{ZONE}' A 10.1.0.5" in log, log[
        -2000:
    ]
    assert rf"/key {HOST1}\@KRB.TEST: updating zone '1.10.in-addr.arpa/IN': adding an RR at '5.0.1.10" in log


def test_ungranted_principal_gets_a_key_but_its_update_is_refused(kdc, keytabs, named_krb, monkeypatch):
    env = _kinit(kdc, keytabs, HOST2)
    result = named_krb.nsupdate(env, f"update add host2.{ZONE} 60 A 10.1.0.6")
    assert result.returncode != 0
    assert "update failed: REFUSED" in result.stdout + result.stderr
    assert named_krb.query("host2") == set()
    # the refusal comes at UPDATE time: named verified the update's GSS-TSIG signature and names the principal
    assert (
        rf"/key {HOST2}\@KRB.TEST: updating zone '{ZONE}/IN': update failed: rejected by secure update (REFUSED)"
        in named_krb.log_text()
    )
    # and the TKEY exchange itself answers NOERROR with a key for the principal no rule grants
    need("gssapi", importlib.util.find_spec("gssapi") is not None, "pip install gssapi (PyPI)")
    monkeypatch.setenv("KRB5_CONFIG", env["KRB5_CONFIG"])
    monkeypatch.setenv("KRB5CCNAME", env["KRB5CCNAME"])
    monkeypatch.delenv("KRB5_KTNAME", raising=False)
    context = negotiate_gss_tsig(named_krb.service_principal, named_krb.port)
    assert context.tkey_error == 0 and context.expiration > context.inception
    assert _update(named_krb, context, "host2b") == dns.rcode.REFUSED


def test_denied_name_is_refused_while_the_granted_one_lands(kdc, keytabs, named_krb):
    env = _kinit(kdc, keytabs, HOST1)
    refused = named_krb.nsupdate(env, f"update add {DENIED}.{ZONE} 60 A 10.1.0.7")
    assert refused.returncode != 0 and "update failed: REFUSED" in refused.stdout + refused.stderr
    granted = named_krb.nsupdate(env, f"update add inside.{ZONE} 60 A 10.1.0.8")
    assert granted.returncode == 0, granted.stdout + granted.stderr
    assert named_krb.query(DENIED) == set()
    assert named_krb.query("inside") == {"10.1.0.8"}


def test_short_ticket_key_ends_at_ticket_end_plus_skew_then_badkey(kdc, keytabs, named_krb, monkeypatch):
    """Slow (about 40 s of wall clock): named keeps a negotiated key until min(1 h, ticket end + clockskew)."""
    need("gssapi", importlib.util.find_spec("gssapi") is not None, "pip install gssapi (PyPI)")
    env = _kinit(kdc, keytabs, SHORT)
    kinit_at = time.time()
    monkeypatch.setenv("KRB5_CONFIG", env["KRB5_CONFIG"])
    monkeypatch.setenv("KRB5CCNAME", env["KRB5CCNAME"])
    monkeypatch.delenv("KRB5_KTNAME", raising=False)
    context = negotiate_gss_tsig(named_krb.service_principal, named_krb.port)
    assert context.tkey_error == 0
    # the ticket ends 30 s after kinit; named's key ends CLOCKSKEW later (not at the 86400 s the client asked)
    assert kinit_at + 30 + CLOCKSKEW - 2 <= context.expiration <= kinit_at + 30 + CLOCKSKEW + 2, (
        context.expiration - kinit_at
    )
    assert _update(named_krb, context, "short1") == dns.rcode.NOERROR

    # past the key's end (and so the ticket's): a key named no longer has
    assert wait_for(lambda: time.time() > context.expiration + 1, 30 + CLOCKSKEW + 10, 0.5)
    with pytest.raises(dns.tsig.PeerBadKey):
        _update(named_krb, context, "short2")
    assert re.search(
        rf"TSIG {re.escape(context.keyname.to_text(True))}: tsig verify failure \(BADKEY\)", named_krb.log_text()
    )
    assert named_krb.query("short2") == set()

    # nsupdate with the expired ticket fails before it sends anything; a fresh kinit makes it work again
    stale = named_krb.nsupdate(env, f"update add short3.{ZONE} 60 A 10.1.0.11")
    assert stale.returncode != 0 and "Ticket expired" in stale.stdout + stale.stderr
    env = _kinit(kdc, keytabs, SHORT)
    fresh = named_krb.nsupdate(env, f"update add short4.{ZONE} 60 A 10.1.0.12")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert named_krb.query("short4") == {"10.1.0.12"}


def test_default_credentials_cache_is_never_written(kdc, keytabs, named_krb, default_ccache):
    """Runs last: every kinit and nsupdate above used a cache in the bed's directory."""
    path, before = default_ccache
    assert path is not None  # klist named the default cache (e.g. /tmp/krb5cc_0)
    assert snapshot(path) == before
    # the bed's krb5.conf sends a client without KRB5CCNAME to a file of the bed's: nobody fell back to it
    assert not (kdc.dir / "default.ccache").exists()
    assert sorted(p.name for p in kdc.dir.glob("*.ccache"))  # the private caches the tests did use


def _update(named, context, label: str) -> int:
    message = dns.update.UpdateMessage(
        named.zone, keyring=context.keyring, keyname=context.keyname, keyalgorithm=dns.tsig.GSS_TSIG
    )
    message.add(label, 60, "A", "10.1.0.10")
    return dns.query.tcp(message, "127.0.0.1", port=named.port, timeout=5).rcode()
