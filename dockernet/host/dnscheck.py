"""``dns check``: everything a watcher needs from the server, probed, each failure with the fix to make.

``check`` turns each probe's outcome into a finding with the exact
named.conf fix (or, with Kerberos, the update-policy grant), and with
GSS-TSIG first says whose ticket signs and whether a key can be negotiated.
"""

from __future__ import annotations

import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.name
import dns.query
import dns.rdatatype

from dockernet.ddns import Nameserver, build_probe, new_update
from dockernet.errors import DnsError, DnsRejected, DnsTransient, DockernetError
from dockernet.publish.registry import span
from dockernet.rfc2136.primary import zone_servers


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str
    #: worth a look, but updates work (a secondary behind): does not fail the check
    warn: bool = False

    def line(self) -> str:
        return f"{'warn' if self.warn else 'ok  ' if self.ok else 'FAIL'} {self.text}"


def _zone_text(zone: dns.name.Name) -> str:
    return zone.to_text(omit_final_dot=True)


def check(nameserver: Nameserver) -> list[Finding]:
    """Everything a watcher needs from the server, zone by zone; each failure says what to add to named.conf."""
    key = nameserver.target.key
    keyref = (key.identity if key.negotiated else key.acl_name) if key else "this host's address"
    if key is None:
        findings = [Finding(True, "no TSIG key: unsigned updates")]
    elif key.negotiated:
        findings = _kerberos_findings(nameserver)
        if not findings[-1].ok:
            return findings  # no key: nothing the server says can be judged
    else:
        findings = [Finding(True, f"{key} loaded")]
    for zone in nameserver.target.zones:
        findings.extend(_check_zone(nameserver, zone, keyref))
    return findings


def _kerberos_findings(nameserver: Nameserver) -> list[Finding]:
    """GSS-TSIG: whose ticket, until when, and whether a key can be negotiated with the server."""
    from dockernet.kerberos.signer import GssSigner  # only --gss-tsig gets here

    target = nameserver.target
    signer = target.key
    assert isinstance(signer, GssSigner)
    try:
        ticket = signer.client.ticket()
    except DockernetError as exc:
        return [Finding(False, f"Kerberos: {exc}")]
    life = f", ticket valid for {span(ticket.lifetime)} more" if ticket.lifetime is not None else ""
    findings = [Finding(True, f"Kerberos principal {ticket.principal}{life}")]
    try:
        service = signer.service_for(target)
        signer.key_for(target)
    except DockernetError as exc:
        return [*findings, Finding(False, f"GSS-TSIG key negotiation with {target.where} failed: {exc}")]
    return [*findings, Finding(True, f"GSS-TSIG key negotiated with {target.where} for {service}")]


def _check_zone(nameserver: Nameserver, zone: dns.name.Name, keyref: str) -> list[Finding]:
    """One zone, in the order a watcher needs it: served there, its servers, updates allowed, transfer allowed."""
    served = _served(nameserver, zone, keyref)
    if not served.ok:
        return [served]  # nothing else is worth asking of a server that does not serve the zone
    key = nameserver.target.key
    unsigned = [_unsigned_updates(nameserver, zone)] if key is not None and key.negotiated else []
    return [
        served,
        *_servers(nameserver, zone),
        _update_grant(nameserver, zone, keyref),
        *unsigned,
        _transfer_grant(nameserver, zone, keyref),
    ]


def _unsigned_updates(nameserver: Nameserver, zone: dns.name.Name) -> Finding:
    """With Kerberos: whether the zone also takes unsigned updates ("nonsecure and secure" in Active Directory),
    which would let anyone on the network change it."""
    name = _zone_text(zone)
    # no prerequisite (Samba checks them before it checks the signature): the deletion of a TXT at a fresh name,
    # which changes nothing even where it is taken
    probe = new_update(nameserver.target, zone)
    probe.delete(dns.name.Name((f"dockernet-probe-{secrets.token_hex(4)}".encode(), *zone.labels)), dns.rdatatype.TXT)
    try:
        nameserver.with_key(None).send_message(probe)
    except DnsRejected:
        return Finding(True, f"{name}: unsigned updates refused (secure only)")
    except DnsTransient as exc:
        return Finding(True, f"{name}: cannot tell whether unsigned updates are taken: {exc}", warn=True)
    return Finding(
        True,
        f"{name}: the zone takes unsigned updates too (Active Directory: nonsecure and secure): anyone on the "
        f"network may change it; set its dynamic updates to secure only",
        warn=True,
    )


def _served(nameserver: Nameserver, zone: dns.name.Name, keyref: str) -> Finding:
    """Whether the server is authoritative for ``zone``; when not, the named.conf stanza that makes it so."""
    name = _zone_text(zone)
    target = nameserver.target
    try:
        served = nameserver.zone_for(zone)
    except DnsRejected as exc:
        return _rejected(nameserver, zone, exc, keyref, "look-up refused")
    except DnsTransient as exc:
        return Finding(False, f"{name}: {exc}")
    if served != zone:
        answer = _probe_answer(nameserver, zone)
        return Finding(
            False,
            f"{name}: {target.where} does not serve this zone{answer}; add to named.conf: "
            f'zone "{name}" {{ type primary; file "{name}.zone"; {_grant(nameserver, name)} }};',
        )
    return Finding(True, f"{name}: served by {target.where}")


def _update_grant(nameserver: Nameserver, zone: dns.name.Name, keyref: str) -> Finding:
    """Whether this key (or address) may update the zone, probed with a no-op UPDATE."""
    name = _zone_text(zone)
    try:
        nameserver.probe_zone(zone)
    except DnsRejected as exc:
        return _rejected(nameserver, zone, exc, keyref, "updates refused")
    except DnsTransient as exc:
        return Finding(False, f"{name}: {exc}")
    return Finding(True, f"{name}: {keyref} may update the zone")


def _transfer_grant(nameserver: Nameserver, zone: dns.name.Name, keyref: str) -> Finding:
    """Whether the zone may be transferred: not needed (the journal stands in), but stale records are found sooner."""
    name = _zone_text(zone)
    try:
        transferable = not nameserver.transfer_raw(zone).refused
    except (DnsTransient, DnsRejected) as exc:
        return Finding(False, f"{name}: zone transfer failed: {exc}")
    if transferable:
        return Finding(True, f"{name}: {keyref} may transfer the zone (stale records are found in one sweep)")
    key = nameserver.target.key
    advice = key.transfer_advice(name) if key else "add to the zone in named.conf: allow-transfer { <this host>; };"
    return Finding(
        True,
        f"{name}: zone transfer not allowed; dockernet works from its journal instead. To allow the sweep, {advice}",
    )


def _servers(nameserver: Nameserver, zone: dns.name.Name) -> list[Finding]:
    """The primary (where updates go) and each secondary in NS, with whether it has the primary's serial."""
    name = _zone_text(zone)
    target = nameserver.target
    try:
        soa, secondaries = zone_servers(nameserver, zone)
    except DnsError as exc:
        return [Finding(False, f"{name}: cannot read its SOA and NS records: {exc}")]
    if soa is None:
        return []
    asked = f" (found through {target.asked})" if target.asked and zone == target.zone else ""
    findings = [
        Finding(
            True,
            f"{name}: primary {soa.mname.to_text(omit_final_dot=True)} at {target.where}{asked}, serial {soa.serial}",
        )
    ]
    for server in secondaries:
        if server.serial is None:
            findings.append(
                Finding(True, f"{name}: secondary {server.name} at {server.where}: {server.error}", warn=True)
            )
        elif server.serial == soa.serial:
            findings.append(
                Finding(True, f"{name}: secondary {server.name} at {server.where}: serial {server.serial}, current")
            )
        else:
            findings.append(
                Finding(
                    True,
                    f"{name}: secondary {server.name} at {server.where}: serial {server.serial}, "
                    f"behind the primary's {soa.serial} (just updated, or NOTIFY or zone "
                    f"transfer to it failing)",
                    warn=True,
                )
            )
    return findings


def _rejected(nameserver: Nameserver, zone: dns.name.Name, exc: DnsRejected, keyref: str, what: str) -> Finding:
    """A failing finding for a refusal, with the fix, and the measured skew behind a BADTIME."""
    name = _zone_text(zone)
    skew = ""
    if exc.code == "BADTIME":
        measured = clock_skew(nameserver, zone)
        skew = f"; the server's clock is {measured:+.0f} s from ours" if measured is not None else ""
    hint = f": {exc.hint}" if exc.hint else ""
    return Finding(False, f"{name}: {what}: {exc.message}{skew}{hint}" + _fix(exc, nameserver, keyref))


def _probe_answer(nameserver: Nameserver, zone: dns.name.Name) -> str:
    """What the server answers to an update probe for ``zone``, as ' (CODE)' or ''."""
    try:
        nameserver.probe_zone(zone)
    except DnsRejected as exc:
        return f" ({exc.code})"
    except DnsTransient:
        return ""
    return ""


def clock_skew(nameserver: Nameserver, zone: dns.name.Name) -> float | None:
    """Seconds the server's clock is ahead of ours, read from the time in its BADTIME answer.

    RFC 8945 section 5.2.3: a BADTIME answer carries the server's current
    time in the TSIG's Other Data. The answer is read without verifying the
    signature (``keyring`` returning False), which is fine for a measurement.
    """
    target = nameserver.target
    message = _probe_for(nameserver, zone)
    family = socket.AF_INET6 if ":" in target.server else socket.AF_INET
    destination = (target.server, target.port)
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            expiration = time.time() + target.timeout
            dns.query.send_udp(sock, message, destination, expiration)
            # a keyring callable that gives no key: the answer's TSIG time is read, not verified
            # (dnspython takes a callable; its annotation names only the dict form)
            no_key: Any = lambda *_: False  # noqa: E731
            response, _ = dns.query.receive_udp(sock, destination, expiration, keyring=no_key, request_mac=message.mac)
    except (OSError, dns.exception.DNSException):
        return None
    if not response.tsig:
        return None
    tsig = response.tsig[0]
    server_time = int.from_bytes(tsig.other[:6], "big") if len(tsig.other) >= 6 else tsig.time_signed
    return server_time - time.time()


def _probe_for(nameserver: Nameserver, zone: dns.name.Name):
    """A signed probe, sent by hand (``transport.exchange`` signs what it sends; this is read unverified)."""
    target = nameserver.target
    message = build_probe(target, zone)
    if target.key is not None:
        key = target.key.key_for(target)
        message.use_tsig(key, keyname=key.name)
    return message


def _grant(nameserver: Nameserver, zone: str) -> str:
    """The zone statement that grants this signer (or, unsigned, this host) updates."""
    key = nameserver.target.key
    return key.grant_statement(zone) if key else "allow-update { <this host's address>; };"


def _fix(exc: DnsRejected, nameserver: Nameserver, keyref: str) -> str:
    """What to add beyond the error's own hint (a refusal's hint already gives the grant); a negotiated key is
    the server's own, so only a key file can differ between the two sides."""
    key = nameserver.target.key
    if exc.code in ("BADKEY", "BADSIG") and key is not None and not key.negotiated:
        return f"; named.conf must include the same key file ({keyref}) as the watcher"
    return ""


def updates_work(findings: list[Finding]) -> bool:
    return all(finding.ok for finding in findings)
