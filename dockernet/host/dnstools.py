"""The ``dns`` toolbox: list and render what dockernet wrote (``dns check`` is ``dnscheck.py``).

``render_nsupdate`` prints a change as the commands ``nsupdate`` would take
(``dns sync --dry-run``), prerequisites included; ``list_records`` is
``dns ls``.
"""

from __future__ import annotations

import time

from dockernet.ddns import Nameserver
from dockernet.errors import DockernetError, TransferNotAllowed
from dockernet.publish.plan import Change, operations
from dockernet.publish.registry import FUTURE_SLACK, ago, is_service, leases_in, parse_mark, span
from dockernet.publish.templates import container_fields, service_group
from dockernet.sync.leaseholder import Process, holder_running

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
