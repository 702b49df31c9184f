"""Whom a server's refusal concerns: one name, the zone, or the key (one rule, asked of the server once).

``rejection_scope`` is the rule (the lease keeper asks it too); ``Triage``
applies it to a name the reconciler could not sync and tells ``Retries``.

REFUSED and NOTAUTH are what a server says both to a key it does not let
into a zone and to one name its update-policy forbids; a SERVFAIL may be
the whole server's (a full disk, a zone being reloaded) or one update's (an
RRset above the server's limit). The probe, an UPDATE of the zone that can
change nothing (``Nameserver.probe_zone``), tells the two apart: if the zone
still takes it, the refusal was the name's.

=====================================  ===========================================
the answer                             scope
=====================================  ===========================================
a TSIG verdict (BADKEY, BADSIG, ...)   KEY: no update anywhere can succeed
NOTZONE, FORMERR                       NAME: that update's, whatever the zone says
REFUSED, NOTAUTH, SERVFAIL             NAME if the zone's probe passes, else ZONE
                                       (KEY when the probe's verdict is a TSIG one)
anything else                          ZONE
=====================================  ===========================================

A probe that gets no answer concludes nothing: its ``DnsTransient``
propagates, and the caller decides what silence means to it.
"""

from __future__ import annotations

import enum
from typing import Protocol

import dns.name

from dockernet.ddns import Nameserver
from dockernet.errors import KEY_VERDICTS, DnsError, DnsRejected, DnsServerFailure, DnsTransient, PrerequisiteFailed
from dockernet.metrics import NullMetrics
from dockernet.sync.retries import Retries, SetAside

#: verdicts about the update of one name, whatever the zone says
_NAME_VERDICTS = frozenset({"NOTZONE", "FORMERR"})
#: verdicts a server gives both to one name and to the whole zone: the probe tells which
_AMBIGUOUS_VERDICTS = frozenset({"REFUSED", "NOTAUTH", "SERVFAIL"})
#: what a name's verdict means, for the log line that sets the name aside
_MEANING = {
    "REFUSED": "the server takes this key's updates to the zone but refuses this name "
    "(an update-policy rule, or check-names)",
    "NOTAUTH": "the server takes this key's updates to the zone but not for this name",
    "NOTZONE": "the name lies outside the zone the update was sent to",
    "FORMERR": "the server could not parse the update of this name",
}


class Scope(enum.Enum):
    """What a refusal concerns, so what must wait for it."""

    NAME = "name"  # this name only: every other name goes on
    ZONE = "zone"  # the zone or the server: no update of it can succeed now
    KEY = "key"  # the key: no update of any zone can succeed


class ZoneProber(Protocol):
    def probe_zone(self, zone: dns.name.Name) -> None: ...


def verdict_of(exc: DnsError) -> str:
    """The rcode or TSIG error an exception carries ("" for none: no answer, a contended name)."""
    return getattr(exc, "code", "") or ""


def rejection_scope(nameserver: ZoneProber, zone: dns.name.Name, exc: DnsError) -> Scope:
    """Whether the server's refusal ``exc`` of an update in ``zone`` concerns the name, the zone or the key.

    Probes ``zone`` for REFUSED, NOTAUTH and SERVFAIL (see the module's
    table); raises the probe's ``DnsTransient`` when it gets no answer.
    """
    code = verdict_of(exc)
    if code in KEY_VERDICTS:
        return Scope.KEY
    if code in _NAME_VERDICTS:
        return Scope.NAME
    if code not in _AMBIGUOUS_VERDICTS:
        return Scope.ZONE
    try:
        nameserver.probe_zone(zone)
    except DnsTransient:
        raise
    except DnsRejected as probed:
        return Scope.KEY if probed.code in KEY_VERDICTS else Scope.ZONE
    except DnsError:
        return Scope.ZONE
    return Scope.NAME


def set_aside_reason(exc: DnsError) -> str:
    """What a name's verdict means, as the operator reads it (the server's message when no meaning is known)."""
    return _MEANING.get(verdict_of(exc), exc.message)


class Triage:
    """Hands a name's failure to the books (``Retries``) as its scope says: the name alone, or everything waits."""

    def __init__(self, nameserver: Nameserver, retries: Retries, metrics: NullMetrics):
        self._nameserver = nameserver
        self._retries = retries
        self._metrics = metrics

    def name_only(self, fqdn: dns.name.Name, exc: DnsError) -> bool:
        """Whether the server's refusal concerns this name alone (``rejection_scope``); silence says no."""
        try:
            return rejection_scope(self._nameserver, self._nameserver.target.zone_of(fqdn), exc) is Scope.NAME
        except DnsTransient:
            return False

    def failed(self, fqdn: dns.name.Name, exc: DnsError, wanted_by: tuple[str, ...]) -> None:
        """Decide whom a failure of ``fqdn`` concerns (see the reconciler's docstring); ``Retries`` keeps the books.

        ``wanted_by``: the short ids of the containers that want the name, for the set-aside line.
        """
        self._metrics.update_failed(
            verdict_of(exc) or ("CONTENDED" if isinstance(exc, PrerequisiteFailed) else "UNREACHABLE")
        )
        if isinstance(exc, PrerequisiteFailed):
            self._retries.contended(fqdn, str(exc))
        elif isinstance(exc, DnsRejected) and self.name_only(fqdn, exc):
            self.set_name_aside(fqdn, exc, wanted_by)
        elif isinstance(exc, DnsServerFailure) and self.name_only(fqdn, exc):
            self._retries.name_failed(fqdn, f"{exc}; the zone takes other updates, so only {fqdn} waits")
        elif isinstance(exc, DnsTransient):
            self._retries.transient(fqdn, str(exc))
        else:
            self._retries.server_failed([fqdn], str(exc))

    def refused_on_read(self, fqdn: dns.name.Name, exc: DnsRejected, wanted_by: tuple[str, ...]) -> None:
        """A look-up the server refused: set the name aside if the refusal is its own, else raise ``exc``."""
        if not self.name_only(fqdn, exc):
            raise exc  # the key or the zone: nothing can be read
        self.set_name_aside(fqdn, exc, wanted_by)  # this name only: the others are still read

    def set_name_aside(self, fqdn: dns.name.Name, exc: DnsRejected, wanted_by: tuple[str, ...]) -> None:
        entry = SetAside(exc.code, set_aside_reason(exc), wanted_by)
        self._retries.set_name_aside(fqdn, entry, self._nameserver.target.where)
