"""``--adopt-owner``: a host renamed (a new owner id) takes over the names its old owner id published.

Each name moves in one atomic UPDATE that requires the old owner's mark and
swaps in this owner's mark for the same container, so a name is moved whole
or not at all. Whose a name is, is the registry's rule (``holder_of``); the
lease is retired as ``leases.py`` retires one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import dns.name
import dns.rdatatype

from dockernet.ddns import Nameserver, Outcome
from dockernet.logformat import printable
from dockernet.publish.registry import NameRecords, holder_of, ownership_mark
from dockernet.rfc2136.messages import new_update, quoted
from dockernet.sync.leaseholder import Process, refuse_if_running
from dockernet.sync.leases import read_lease, remove_lease, safe_engine_id

log = logging.getLogger("dockernet")


@dataclass(frozen=True)
class Adoption:
    moved: int = 0
    #: names that changed between the read and the move (taken, removed): left as they are
    skipped: tuple[dns.name.Name, ...] = ()


def adopt(nameserver: Nameserver, old: str, names: dict[dns.name.Name, str], ttl: int) -> Adoption:
    """Give ``old``'s names (name -> short container id) to this owner, one atomic UPDATE per name.

    Each UPDATE requires the TXT RRset to be exactly ``old``'s mark, then
    swaps in this owner's mark for the same container: a name is moved whole
    or not at all, and a name that changed meanwhile is left alone.
    """
    new = nameserver.target.owner
    moved, skipped = 0, []
    for name, short_id in sorted(names.items()):
        message = new_update(nameserver.target, nameserver.target.zone_of(name))
        message.present(name, dns.rdatatype.TXT, quoted(ownership_mark(old, short_id)))
        message.delete(name, dns.rdatatype.TXT)
        message.add(name, ttl, dns.rdatatype.TXT, quoted(ownership_mark(new, short_id)))
        if nameserver.send_message(message) is Outcome.APPLIED:
            moved += 1
        else:
            skipped.append(name)
    return Adoption(moved, tuple(skipped))


def names_of_owner(transferred: Mapping[dns.name.Name, NameRecords], owner: str) -> dict[dns.name.Name, str]:
    """name -> short container id of every name ``owner`` holds (from a transfer)."""
    found = {}
    for name, (texts, _records, _ttl) in transferred.items():
        holder = holder_of(texts, owner)
        if holder is not None:
            found[name] = holder
    return found


def adopt_owner(
    nameserver: Nameserver,
    old: str,
    ttl: int,
    engine: str,
    journal_names: Callable[[], set] = set,
    clock: Callable[[], float] = time.time,
    here: Process | None = None,
    force: bool = False,
) -> Adoption:
    """``--adopt-owner OLD``: move every name of ``old`` to this owner, then retire ``old``'s lease.

    Refused while ``old``'s watcher still runs, on another engine or on this
    one (``refuse_if_running``), unless ``force``. Names are found by zone
    transfer, else from ``old``'s journal.
    """
    lease, _texts = read_lease(nameserver, old)
    now = clock()
    if force and lease is not None:
        log.warning(
            "Adopting the names of owner id '%s' whatever its lease says (%s; --force)",
            printable(old),
            lease.describe(now),
        )
    elif not force:
        refuse_if_running(lease, here or Process.this(), now, "adopting its names", engine=safe_engine_id(engine))
    names: dict[dns.name.Name, str] = {}
    for zone in nameserver.target.zones:
        transfer = nameserver.transfer_raw(zone)
        if transfer.refused:
            names = _from_journal(nameserver, old, journal_names())
            break
        names.update(names_of_owner(transfer.names, old))
    result = adopt(nameserver, old, names, ttl)
    if lease is not None:
        remove_lease(nameserver, lease)
    log.info(
        "Adopted %d name(s) of owner id '%s'%s",
        result.moved,
        printable(old),
        f"; {len(result.skipped)} changed meanwhile and were left alone" if result.skipped else "",
    )
    return result


def _from_journal(nameserver: Nameserver, old: str, candidates: Iterable[dns.name.Name]) -> dict[dns.name.Name, str]:
    found = {}
    for name in candidates:
        holder = holder_of(nameserver.read_txt(name) or [], old)
        if holder is not None:
            found[name] = holder
    return found
