"""The ``dns`` toolbox: check the server's grants, list and render what dockernet wrote.

``check`` turns each probe's outcome into a finding with the exact
named.conf fix; ``render_nsupdate`` prints a change as the commands
``nsupdate`` would take (``dns sync --dry-run``), prerequisites included.
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
from dockernet.errors import DnsError, DnsRejected, DnsTransient, DockernetError, TransferNotAllowed
from dockernet.publish.plan import Change, operations
from dockernet.publish.registry import FUTURE_SLACK, ago, is_service, leases_in, parse_mark, span
from dockernet.publish.templates import container_fields, service_group
from dockernet.rfc2136.primary import zone_servers
from dockernet.sync.leaseholder import Process, holder_running


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
    return Finding(False, f"{name}: {what}: {exc.message}{skew}{hint}" + _fix(exc, name, keyref))


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


def _fix(exc: DnsRejected, zone: str, keyref: str) -> str:
    """What to add beyond the error's own hint (a refusal's hint already gives the grant)."""
    if exc.code in ("BADKEY", "BADSIG") and keyref.startswith("key "):
        return f"; named.conf must include the same key file ({keyref}) as the watcher"
    return ""


def updates_work(findings: list[Finding]) -> bool:
    return all(finding.ok for finding in findings)


# --- nsupdate syntax -------------------------------------------------------------------


def render_nsupdate(changes: list[Change], nameserver: Nameserver) -> str:
    """The changes as nsupdate commands, one ``send`` per change (as dockernet sends them).

    Rendered from ``plan.operations``, the same value the UPDATE messages are
    built from, so the script does exactly what a real run would.
    """
    target = nameserver.target
    lines = [f"server {target.server} {target.port}"]
    for change in changes:
        ops = operations(change, target.owner)
        fqdn = ops.fqdn.to_text()
        lines.append(f"zone {target.zone_of(ops.fqdn).to_text()}")
        if ops.required_mark is None:
            lines.append(f"prereq nxdomain {fqdn}")
        else:
            lines.append(f'prereq yxrrset {fqdn} TXT "{ops.required_mark}"')
        lines += [f"update delete {fqdn} {rdtype}" for rdtype in ops.deletes]
        lines += [f"update add {fqdn} {ops.ttl} {rdtype} {_nsupdate_data(rdtype, data)}" for rdtype, data in ops.adds]
        lines.append("send")
    return "\n".join(lines) + "\n"


def _nsupdate_data(rdtype: str, data: str) -> str:
    return f'"{data}"' if rdtype == "TXT" else data


# --- listing ----------------------------------------------------------------------------


def list_marked(nameserver: Nameserver, owner: str | None) -> tuple[list[tuple[str, str, str, tuple]], dict] | None:
    """(name, owner, short id, records) of every dockernet mark in the zones (``owner`` None: all owners),
    and every owner's lease (owner id -> ``owners.Lease``).

    Needs zone transfer; None when the server refuses it.
    """
    found = []
    leases = {}
    for zone in nameserver.target.zones:
        transfer = nameserver.transfer_raw(zone)
        if transfer.refused:
            return None
        if zone == nameserver.target.zone:
            leases = leases_in(transfer.names, zone)
        for name, (texts, records, _ttl) in transfer.names.items():
            for text in texts:
                mark = parse_mark(text)
                if mark and (owner is None or mark[0] == owner):
                    found.append((name.to_text(), mark[0], mark[1], tuple(sorted(records))))
    return sorted(found), leases


def list_records(runtime, owner: str | None, this_owner: str) -> list[dict]:
    """Rows for ``dns ls``: every marked name of ``owner`` (None: every owner), with its container's state.

    Only this host's engine is asked, so only ``this_owner``'s containers can
    be said to run or be gone; another owner's are ``None`` (on another host).
    Each row carries its owner's lease (the last sign of life of that owner's
    watcher), and an owner with a lease but no records gets a row of its own
    without a name. Without zone transfer, this owner's names come from its journal.
    """
    rows, leases = _marked_names(runtime, owner, this_owner)
    running = _running_holders(runtime.engine)
    now = time.time()
    here = Process.this()
    found = [
        {
            "name": name,
            "owner": who,
            "container": None if is_service(holder) else holder,
            "service": holder if is_service(holder) else None,
            "records": [list(r) for r in records],
            "running": (holder in running) if running is not None and who == this_owner else None,
            "lease": _lease_dict(leases.get(who), now, here),
        }
        for name, who, holder, records in rows
    ]
    listed_owners = {row["owner"] for row in found}
    return found + [
        {
            "name": None,
            "owner": who,
            "container": None,
            "service": None,
            "records": [],
            "running": None,
            "lease": _lease_dict(lease, now, here),
        }
        for who, lease in sorted(leases.items())
        if who not in listed_owners and owner in (None, who)
    ]


def _marked_names(runtime, owner: str | None, this_owner: str) -> tuple[list[tuple[str, str, str, tuple]], dict]:
    """(name, owner, holder, records) rows and the leases: from a zone transfer, else this owner's from its journal."""
    listed = list_marked(runtime.nameserver, owner)
    if listed is not None:
        return listed
    if owner != this_owner:
        raise TransferNotAllowed(
            "listing other owners' records needs zone transfer, which the server refuses",
            hint="allow-transfer { key ...; }; in named.conf",
        )
    runtime.reconciler.load([])
    rows = sorted(
        (name.to_text(), this_owner, state.short_id, state.records)
        for name, state in runtime.reconciler.owned().items()
    )
    return rows, {}


def _running_holders(engine) -> set[str] | None:
    """What runs here: short ids, and services (running while a replica is); None when the engine cannot be asked."""
    try:
        running = set()
        for info in engine.running():
            running |= {info.short_id, service_group(container_fields(info.hostname, info.name, info.id, info.labels))}
    except DockernetError:
        return None
    return running


def _lease_dict(lease, now: float, here: Process) -> dict | None:
    """A lease for ``dns ls``: ``alive`` is whether its watcher runs (its pid says, on this host; else its renewals)."""
    if lease is None:
        return None
    return {
        "engine": lease.engine,
        "host": lease.host,
        "seen": lease.seen,
        "alive": holder_running(lease, here, now),
        "pid": lease.pid if lease.instance else None,
        "since": lease.since if lease.instance else None,
    }


def render_ls(rows: list[dict], this_owner: str) -> str:
    """One block per owner (its last sign of life first), then its records."""
    now = time.time()
    lines = []
    for who in sorted({row["owner"] for row in rows}, key=lambda who: (who != this_owner, who)):
        mine = [row for row in rows if row["owner"] == who]
        lines.append(f"owner {who}: {_life(mine[0]['lease'], now)}")
        for row in mine:
            if row["name"] is None:
                continue
            state = {True: "running", False: "gone", None: "unknown"}[row["running"]]
            if row["owner"] != this_owner:
                state = "other owner"
            data = ", ".join(f"{rdtype} {value}" for rdtype, value in row["records"]) or "-"
            holder = f"service={row['service']}" if row.get("service") else f"container={row['container']}"
            lines.append(f"  {row['name']}  {data}  {holder} ({state})")
    return "\n".join(lines)


def _life(lease: dict | None, now: float) -> str:
    if lease is None:
        return "no lease (its watcher never ran with leases, or the owner was retired)"
    state = "running" if lease["alive"] else "stopped"
    pid = f", pid {lease['pid']}" if lease.get("pid") else ""
    where = f"engine {lease['engine']} on host {lease['host'] or '?'}{pid}"
    if lease["seen"] > now + FUTURE_SLACK:  # a clock set wrong wrote it: it proves no life
        return f"lease invalid; {where}, renewed {span(lease['seen'] - now)} in the future (a clock set wrong)"
    return f"watcher {state}; {where}, last seen {ago(now - lease['seen'])}"
