"""GSS-TSIG's pure parts: the TKEY messages (against exchanges recorded from named and Samba), the key's
renewal schedule and the per-server state machine (with a clock and negotiations of the test's own), the
retry on a rejected key, Samba's MACs, and what each Kerberos failure says."""

import os
from pathlib import Path
from types import SimpleNamespace

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import pytest

from dockernet.auth import Kerberos, KeyFile, Unsigned, auth_from_options
from dockernet.errors import (
    DnsTransient,
    KdcUnreachable,
    KerberosError,
    KerberosUnavailable,
    TsigRejected,
    UsageError,
)
from dockernet.kerberos import client as client_module
from dockernet.kerberos import failures, tkey
from dockernet.kerberos.client import KerberosClient, gssapi_module
from dockernet.kerberos.negotiation import Negotiated, SignatureContext, service_principal
from dockernet.kerberos.signer import GssSigner
from dockernet.rfc2136 import transport
from dockernet.rfc2136.target import DnsTarget
from dockernet.rfc2136.tsigkey import parse_key_text

GOLDEN = Path(__file__).parent / "golden" / "tkey"
ZONE = dns.name.from_text("docker.test")


def recorded(name: str) -> dns.message.Message:
    """A message recorded from a real exchange (tests/unit/golden/tkey), its TSIG read but not verified."""
    return dns.message.from_wire(bytes.fromhex((GOLDEN / f"{name}.hex").read_text()), keyring=False)


# --- the TKEY messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["bind", "samba"])
def test_the_query_is_built_as_the_recorded_one_that_the_server_answered(server):
    sent = recorded(f"{server}-query")
    (tkey_rrset,) = sent.additional
    keyname = sent.question[0].name
    sent_tkey = tkey_rrset[0]
    built = tkey.build_query(keyname, sent_tkey.key, sent_tkey.inception)
    assert [(q.name, q.rdtype, q.rdclass) for q in built.question] == [
        (keyname, dns.rdatatype.TKEY, dns.rdataclass.ANY)
    ]
    (built_rrset,) = built.additional
    assert built_rrset.name == keyname and built_rrset.rdclass == dns.rdataclass.ANY and built_rrset.ttl == 0
    assert built_rrset[0] == sent_tkey  # algorithm, inception, expiration, mode 3, error 0, the token
    assert sent_tkey.mode == tkey.GSSAPI_MODE and sent_tkey.algorithm == dns.tsig.GSS_TSIG
    assert built.answer == [] and built.authority == []


@pytest.mark.parametrize("server", ["bind", "samba"])
def test_the_recorded_answer_gives_the_servers_token_and_the_keys_life(server):
    answer = recorded(f"{server}-answer")
    keyname = answer.question[0].name
    read = tkey.read_answer(answer, keyname, "127.0.0.1#53")
    assert read.token.startswith(b"\x60")  # a GSS-API token (RFC 2743 3.1): the server's AP-REP
    assert 0 < read.expiration - read.inception <= 3600
    assert answer.tsig and answer.tsig[0].algorithm == dns.tsig.GSS_TSIG  # signed with the new context


def _answer(rcode=dns.rcode.NOERROR, error=0, mode=tkey.GSSAPI_MODE, with_tkey=True):
    keyname = dns.name.from_text("k.sig-dockernet.")
    query = tkey.build_query(keyname, b"token", 1000)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if with_tkey:
        rdata = query.additional[0][0].replace(error=error, mode=mode, key=b"reply")
        response.find_rrset(response.answer, keyname, dns.rdataclass.ANY, dns.rdatatype.TKEY, create=True).add(rdata)
    return response, keyname


@pytest.mark.parametrize(
    "answer, says",
    [
        (dict(rcode=dns.rcode.NOTIMP), "answered NOTIMP to the GSS-TSIG key negotiation (TKEY): it does not take GSS"),
        (dict(rcode=dns.rcode.FORMERR), "BIND needs tkey-gssapi-keytab"),
        (dict(rcode=dns.rcode.REFUSED), "does not negotiate GSS-TSIG keys with this host"),
        (dict(with_tkey=False), "without a TKEY record"),
        (dict(error=17), "did not accept the Kerberos ticket in the GSS-TSIG key negotiation (BADKEY)"),
        (dict(mode=2), "in mode 2, not GSS-API"),
    ],
)
def test_each_failed_negotiation_says_why(answer, says):
    response, keyname = _answer(**answer)
    with pytest.raises(KerberosError) as raised:
        tkey.read_answer(response, keyname, "192.0.2.1#53")
    assert says in str(raised.value) and raised.value.code == "GSS"


def test_key_names_are_new_each_time_and_outside_any_zone():
    names = {tkey.new_key_name() for _ in range(50)}
    assert len(names) == 50
    assert all(name.parent() == dns.name.from_text("sig-dockernet.") for name in names)


# --- when a key is renewed --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "life, renewed_before_end",
    [(30, 6), (40, 8), (3600, 300), (600, 120), (2, 1), (0, 1)],
)
def test_a_key_is_renewed_a_fifth_of_its_life_ahead_between_1_s_and_5_min(life, renewed_before_end):
    key = Negotiated(dns.tsig.Key("k.", b"x"), at=1000.0, expires=1000.0 + life)
    assert key.expires - key.renew_at == renewed_before_end


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _signer(clock, life=30.0, service="DNS/ns.docker.test@KRB.TEST"):
    made = []

    def negotiate(client, service, target):
        key = dns.tsig.Key(f"k{len(made)}.sig-dockernet.", b"secret")
        made.append((service, target.server))
        return Negotiated(key, clock(), clock() + life)

    client = KerberosClient(principal="dockernet/host1@KRB.TEST")
    return GssSigner(client, exchange=None, service=service, clock=clock, negotiate_key=negotiate), made


TARGET = DnsTarget("192.0.2.1", 53, ZONE, None, "host1")


def test_one_key_per_server_reused_until_its_renewal_then_negotiated_anew():
    clock = Clock()
    signer, made = _signer(clock)
    first = signer.key_for(TARGET)
    clock.now += 23.9
    assert signer.key_for(TARGET) is first and len(made) == 1
    clock.now += 0.2  # past 24 s of a 30 s life
    assert signer.key_for(TARGET) is not first and len(made) == 2
    other = DnsTarget("192.0.2.2", 53, ZONE, None, "host1")
    signer.key_for(other)
    assert [server for _, server in made] == ["192.0.2.1", "192.0.2.1", "192.0.2.2"]


def test_renew_forgets_the_servers_key_so_the_next_message_negotiates():
    clock = Clock()
    signer, made = _signer(clock, life=3600)
    key = signer.key_for(TARGET)
    assert signer.renew(TARGET) is True
    assert signer.key_for(TARGET) is not key and len(made) == 2


def test_the_service_principal_is_dns_slash_the_soa_mname_at_the_principals_realm():
    assert service_principal("dc1.ad.test.", "AD.TEST") == "DNS/dc1.ad.test@AD.TEST"
    client = KerberosClient(principal="host1@AD.TEST")
    asked = []

    def soa_exchange(target, message):
        asked.append(message.question[0].name)
        response = dns.message.make_response(message)
        soa = dns.rrset.from_text(target.zone, 60, "IN", "SOA", "dc1.ad.test. hostmaster.ad.test. 1 900 600 86400 3600")
        response.find_rrset(response.answer, target.zone, soa.rdclass, soa.rdtype, create=True).update(soa)
        return response

    signer = GssSigner(client, soa_exchange)
    ad = DnsTarget("127.0.0.10", 53, dns.name.from_text("ad.test"), None, "host1")
    assert signer.service_for(ad) == "DNS/dc1.ad.test@AD.TEST" and asked == [ad.zone]
    # a primary found through a secondary carries the SOA's MNAME already: nothing more is asked
    redirected = DnsTarget("127.0.0.11", 53, ad.zone, None, "host1", mname="dc2.ad.test")
    assert signer.service_for(redirected) == "DNS/dc2.ad.test@AD.TEST" and len(asked) == 1
    assert GssSigner(client, soa_exchange, service="DNS/x@AD.TEST").service_for(ad) == "DNS/x@AD.TEST"


# --- a rejected key: renewed and sent once more -------------------------------------------------------------


class FakeSigner:
    negotiated = True
    identity = "Kerberos principal 'p@R'"

    def __init__(self, renewable=True):
        self.renewable = renewable
        self.keys = 0

    def key_for(self, target):
        self.keys += 1
        return dns.tsig.Key(f"k{self.keys}.", b"secret", dns.tsig.HMAC_SHA256)

    def renew(self, target):
        return self.renewable


def _sending(monkeypatch, verdicts):
    """transport._send answering each message with the next verdict (a TSIG code to raise, or None: answered)."""
    sent = []

    def send(target, message, tcp, source_ns):
        sent.append(message.keyname)
        verdict = verdicts.pop(0)
        if verdict:
            raise TsigRejected("rejected", code=verdict)
        return dns.message.make_response(message)

    monkeypatch.setattr(transport, "_send", send)
    return sent


def test_a_key_the_server_forgot_is_renewed_and_the_message_sent_again_once(monkeypatch):
    sent = _sending(monkeypatch, ["BADKEY", None])
    target = DnsTarget("192.0.2.1", 53, ZONE, FakeSigner(), "host1")
    transport.exchange(target, dns.message.make_query(ZONE, "SOA"))
    assert [name.to_text() for name in sent] == ["k1.", "k2."]  # signed again, with the new key


def test_a_second_rejection_is_the_verdict(monkeypatch):
    sent = _sending(monkeypatch, ["BADSIG", "BADSIG"])
    target = DnsTarget("192.0.2.1", 53, ZONE, FakeSigner(), "host1")
    with pytest.raises(TsigRejected):
        transport.exchange(target, dns.message.make_query(ZONE, "SOA"))
    assert len(sent) == 2


@pytest.mark.parametrize("renewable, code", [(False, "BADKEY"), (True, "BADTIME")])
def test_a_key_file_or_a_clock_problem_is_not_retried(monkeypatch, renewable, code):
    sent = _sending(monkeypatch, [code])
    target = DnsTarget("192.0.2.1", 53, ZONE, FakeSigner(renewable), "host1")
    with pytest.raises(TsigRejected):
        transport.exchange(target, dns.message.make_query(ZONE, "SOA"))
    assert len(sent) == 1


# --- Samba's MACs -----------------------------------------------------------------------------------------


class Mic:
    """A context whose MIC of data is b"mic:" + data, and which says so when a MIC does not match."""

    class Bad(Exception):
        pass

    def get_signature(self, data):
        return b"mic:" + data

    def verify_signature(self, data, mac):
        if mac != b"mic:" + data:
            raise Mic.Bad


def _covered(request_mac: bytes, rcode: int, length: bool = True) -> bytes:
    """What an answer's MAC covers: the request MAC (with its length), the original id, the answer from its
    flags on (RFC 8945 4.3.3)."""
    flags = (0x8000 | rcode).to_bytes(2, "big")
    prefix = (len(request_mac).to_bytes(2, "big") if length else b"") + request_mac
    return prefix + b"\x12\x34" + flags + b"rest-of-the-answer"


def test_an_answer_signed_either_way_verifies_and_a_bad_one_does_not():
    context = SignatureContext(Mic(), Mic.Bad)
    request_mac = context.get_signature(b"the request")
    answer = _covered(request_mac, 0)
    context.verify_signature(answer, b"mic:" + answer)  # RFC 8945
    context.verify_signature(answer, b"mic:" + answer[2:])  # Samba: the request MAC without its length
    with pytest.raises(Mic.Bad):
        context.verify_signature(answer, b"mic:forged")


@pytest.mark.parametrize("rcode", [dns.rcode.NXRRSET, dns.rcode.YXRRSET, dns.rcode.NXDOMAIN, dns.rcode.YXDOMAIN])
def test_the_requests_own_tsig_echoed_back_passes_when_a_prerequisite_failed(rcode):
    """Samba's unsigned answer: it only makes dockernet read the name again (signed), so a forged one is harmless."""
    context = SignatureContext(Mic(), Mic.Bad)
    request_mac = context.get_signature(b"the request")
    context.verify_signature(_covered(request_mac, rcode), request_mac)


@pytest.mark.parametrize("rcode", [dns.rcode.NOERROR, dns.rcode.REFUSED, dns.rcode.NOTAUTH, dns.rcode.SERVFAIL])
def test_a_copied_request_tsig_cannot_vouch_for_success_or_a_refusal(rcode):
    """Anyone who saw the request could copy its MAC: not enough to make a change look applied, or refused."""
    context = SignatureContext(Mic(), Mic.Bad)
    request_mac = context.get_signature(b"the request")
    with pytest.raises(Mic.Bad):
        context.verify_signature(_covered(request_mac, rcode), request_mac)


# --- what each failure says -------------------------------------------------------------------------------

WHO = failures.Who("dockernet/host1@KRB.TEST", "DNS/ns.docker.test@KRB.TEST", "/etc/dockernet/host1.keytab")


@pytest.mark.parametrize(
    "code, says",
    [
        (failures.S_PRINCIPAL_UNKNOWN, "the KDC knows no service principal DNS/ns.docker.test@KRB.TEST"),
        (failures.C_PRINCIPAL_UNKNOWN, "the KDC knows no principal 'dockernet/host1@KRB.TEST'"),
        (failures.CLOCK_SKEW, "clock skew): synchronise the clocks (NTP)"),
        (failures.TKT_EXPIRED, "has expired: run kinit again, or give --keytab"),
        (failures.PREAUTH_FAILED, "the keytab is out of date"),
        (failures.KT_NOTFOUND, "keytab /etc/dockernet/host1.keytab has no key for principal"),
        (failures.CC_NOTFOUND, "keytab /etc/dockernet/host1.keytab has no key for principal"),
        (failures.REALM_UNKNOWN, "knows no KDC for the realm"),
        (failures.CLIENT_REVOKED, "the account is disabled or locked"),
    ],
)
def test_each_kerberos_failure_says_what_to_fix(code, says):
    error = failures.explain(code + (1 << 32), "MIT's own words", WHO)  # as python-gssapi hands it over
    assert isinstance(error, KerberosError) and says in str(error), str(error)
    assert "MIT's own words" not in str(error)


def test_no_ticket_in_the_users_cache_says_kinit():
    who = failures.Who(None, "DNS/ns.docker.test@KRB.TEST")
    error = failures.explain(failures.FCC_NOFILE, "", who)
    assert str(error).startswith("no Kerberos ticket for the credentials cache's principal") and "kinit" in str(error)


def test_an_unreachable_kdc_is_transient_and_an_unknown_failure_keeps_mits_words():
    assert isinstance(failures.explain(failures.KDC_UNREACH, "", WHO), KdcUnreachable)
    assert isinstance(failures.explain(failures.REALM_CANT_RESOLVE, "", WHO), KdcUnreachable)  # a KDC name at boot
    without_service = failures.explain(12345, "words", failures.Who(None, "", "/k.keytab"))
    assert str(without_service) == "Kerberos failed for the keytab's principal: words"
    unknown = failures.explain(12345, "Something MIT says", WHO)
    assert isinstance(unknown, KerberosError) and "Something MIT says" in str(unknown)


# --- the options ------------------------------------------------------------------------------------------


def test_the_options_choose_one_signing():
    assert auth_from_options("/k", False, False, None, None, None) == KeyFile("/k")
    assert auth_from_options("/k", True, False, None, None, None) == Unsigned()
    assert auth_from_options("/k", False, True, "/t", "p@R", None) == Kerberos("/t", "p@R")
    with pytest.raises(UsageError, match="--gss-tsig and --no-key contradict each other"):
        auth_from_options("/k", True, True, None, None, None)
    with pytest.raises(UsageError, match="--keytab and --principal apply only with --gss-tsig"):
        auth_from_options("/k", False, False, "/t", "p@R", None)


def test_a_keytab_others_may_read_is_warned_about(tmp_path):
    keytab = tmp_path / "host1.keytab"
    keytab.write_bytes(b"\x05\x02")
    keytab.chmod(0o644)
    warning = Kerberos(str(keytab), "p@R").exposure()
    assert warning and "readable or writable by other users (mode 0644)" in warning and "chmod 600" in warning
    keytab.chmod(0o600)
    assert Kerberos(str(keytab), "p@R").exposure() is None


def test_without_the_gssapi_package_gss_tsig_is_one_line_saying_how_to_get_it(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "gssapi", None)  # import gssapi now fails
    with pytest.raises(KerberosUnavailable) as raised:
        gssapi_module()
    assert "pip install 'dockernet[kerberos]'" in str(raised.value) and "libkrb5-dev" in str(raised.value)


def test_with_a_keytab_tickets_go_to_a_memory_cache_of_this_process(monkeypatch):
    """client_keytab alone would put the ticket into the user's default cache: the store names a MEMORY one."""
    acquired = []

    class FakeCredentials:
        def __init__(self, **kwargs):
            acquired.append(kwargs)

        def inquire(self):
            return None

    fake = SimpleNamespace(
        Name=lambda text, kind: ("name", text),
        NameType=SimpleNamespace(kerberos_principal="krb5"),
        Credentials=FakeCredentials,
        exceptions=SimpleNamespace(GSSError=RuntimeError),
    )
    monkeypatch.setattr(client_module, "gssapi_module", lambda: fake)
    first, second = KerberosClient("/etc/dockernet/host1.keytab", "p@R"), KerberosClient("/t", "p@R")
    first.credentials()
    store = acquired[0]["store"]
    assert store["client_keytab"] == "/etc/dockernet/host1.keytab"
    assert store["ccache"].startswith(f"MEMORY:dockernet-{os.getpid()}-") and store["ccache"] != second._ccache
    first.fresh_tickets()  # a ticket-limited key: the next context starts from new tickets, in a new cache
    first.credentials()
    assert acquired[1]["store"]["ccache"] != store["ccache"] and acquired[1]["store"]["ccache"].startswith("MEMORY:")
    KerberosClient(None, "p@R").credentials()  # no keytab: the user's cache, as kinit left it
    assert acquired[2]["store"] is None


# --- the negotiation, round trip by round trip ---------------------------------------------------------------


class FakeContext:
    """Complete after taking the server's token; signs nothing (the answers here are unsigned)."""

    def __init__(self):
        self.complete = False
        self.taken = []

    def step(self, token):
        if token is None:
            return b"client-token"
        self.taken.append(token)
        self.complete = True
        return None


class FakeClient:
    def __init__(self, ticket_left):
        self.context_made = FakeContext()
        self.ticket_left = ticket_left
        self.fresh = 0
        self.failure = RuntimeError

    def context(self, service):
        return self.context_made

    def step(self, context, token, service):
        return context.step(token)

    def remaining(self, context):
        return self.ticket_left

    def fresh_tickets(self):
        self.fresh += 1


def _server(life=3600):
    """A TKEY exchange as a server answers it: its token, the key's life from the query's inception."""
    asked = []

    def exchange(target, query):
        asked.append(query)
        sent = query.additional[0][0]
        response = dns.message.make_response(query)
        rdata = sent.replace(key=b"server-token", expiration=sent.inception + life)
        response.find_rrset(response.answer, query.question[0].name, rdata.rdclass, rdata.rdtype, create=True).add(
            rdata
        )
        return response

    return exchange, asked


@pytest.mark.parametrize("ticket_left, life, fresh", [(600.0, 3600, 1), (36000.0, 3600, 0)])
def test_negotiate_sends_the_clients_token_steps_with_the_servers_and_ends_with_the_key_or_the_ticket(
    ticket_left, life, fresh
):
    from dockernet.kerberos.negotiation import negotiate

    client = FakeClient(ticket_left)
    exchange, asked = _server(life)
    negotiated = negotiate(client, "DNS/ns.docker.test@KRB.TEST", TARGET, exchange, clock=lambda: 5000.0)
    (query,) = asked
    assert query.additional[0][0].key == b"client-token" and client.context_made.taken == [b"server-token"]
    assert negotiated.key.name == query.question[0].name and negotiated.key.algorithm == dns.tsig.GSS_TSIG
    assert negotiated.expires == 5000.0 + min(ticket_left, life)
    assert client.fresh == fresh  # a key the ticket ends: the next one starts from new tickets


def test_a_context_that_never_completes_is_one_error_not_an_endless_exchange():
    from dockernet.kerberos.negotiation import MAX_ROUND_TRIPS, negotiate

    client = FakeClient(600.0)
    client.context_made.step = lambda token: b"more"  # never complete
    exchange, asked = _server()
    with pytest.raises(KerberosError, match=f"did not complete in {MAX_ROUND_TRIPS} round trips"):
        negotiate(client, "DNS/ns.docker.test@KRB.TEST", TARGET, exchange)
    assert len(asked) == MAX_ROUND_TRIPS


def test_a_servfail_to_the_negotiation_is_transient():
    response, keyname = _answer(rcode=dns.rcode.SERVFAIL)
    with pytest.raises(DnsTransient):
        tkey.read_answer(response, keyname, "192.0.2.1#53")


def test_badtime_in_the_negotiation_says_clocks():
    response, keyname = _answer(error=18)
    with pytest.raises(KerberosError, match="synchronise them"):
        tkey.read_answer(response, keyname, "192.0.2.1#53")


# --- a key file's key still signs everything ------------------------------------------------------------------


def test_a_key_files_key_signs_each_message_as_it_leaves(monkeypatch):
    key = parse_key_text('key "ddns-key" { algorithm hmac-sha256; secret "MDEyMzQ1Njc4OWFiY2RlZg=="; };')
    seen = []

    def send(target, message, tcp, source_ns):
        seen.append((message.keyname, message.keyalgorithm, b"ddns-key" in message.to_wire()))
        return dns.message.make_response(message)

    monkeypatch.setattr(transport, "_send", send)
    target = DnsTarget("192.0.2.1", 53, ZONE, key, "host-a")
    transport.exchange(target, dns.message.make_query(ZONE, "SOA"))
    assert seen == [(key.name, dns.tsig.HMAC_SHA256, True)]
    transport.exchange(target, dns.message.make_query(ZONE, "SOA"), signed=False)
    assert seen[-1] == (None, None, False)
