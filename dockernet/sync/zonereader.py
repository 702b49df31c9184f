"""What the zones hold for the names in play, and how it is read: the one place that asks for a transfer.

The truth comes from a zone transfer where the key may make one (other
owners' names dropped as it streams by); otherwise from one query per name
this watcher claims, knows, or finds in its journal. ``current`` is what
this watcher last knew of each name: its own names, and others' only where
a container wants the name (a big shared zone must not make the daemon
big). Reads the server; changes nothing in it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import dns.name

from dockernet.ddns import Nameserver, Transfer
from dockernet.errors import DnsError, DnsRejected
from dockernet.publish.plan import Current, Owned, forward_first
from dockernet.rfc2136 import reversezones
from dockernet.sync.journal import Journal
from dockernet.sync.notices import Notices

log = logging.getLogger("dockernet")

#: a zone's state as read: name -> who holds it
ZoneState = dict[dns.name.Name, Current]
#: what to do with a name whose look-up the server refused: set it aside, or raise (see ``ZoneReader.read``)
OnRefused = Callable[[dns.name.Name, DnsRejected], None]


class ZoneReader:
    """Reads the zones' truth for this owner and keeps what it last knew of each name (``current``)."""

    def __init__(
        self,
        nameserver: Nameserver,
        zone: dns.name.Name,
        journal: Journal | None = None,
        notices: Notices | None = None,
    ):
        self._nameserver = nameserver
        #: the forward zone, as the operator named it (for the log)
        self._zone = zone
        self._journal = journal
        self._notices = notices or Notices()
        self.current: ZoneState = {}

    # -- the one place a transfer is asked for -------------------------------------

    def _transfer(self, wanted: set[dns.name.Name]) -> Transfer[Current]:
        """Every name this owner holds or ``wanted`` lists, or the server's refusal and why."""
        return self._nameserver.transfer(wanted=wanted)

    def _transfer_zone(self, zone: dns.name.Name) -> Transfer[Current]:
        """Who holds each name of ``zone``, or the server's refusal and why."""
        return self._nameserver.transfer_zone(zone)

    # -- reading -----------------------------------------------------------------

    def read(
        self,
        names: set[dns.name.Name],
        unsure: Iterable[dns.name.Name],
        transferred: Callable[[], Transfer[Current]] | None,
        refused: OnRefused,
    ) -> None:
        """Read the truth of ``names``, this owner's own names and ``unsure`` ones into ``current``.

        ``transferred`` gives a transfer of everything a caller started
        earlier. Without a transfer, each name is looked up; a name whose
        look-up the server refuses goes to ``refused``, which sets it aside
        or raises. Raises ``DnsError`` when the server fails.
        """
        transfer = transferred() if transferred else self._transfer(names)
        state = transfer.names
        if transfer.refused:
            self._notices.no_transfer(self._zone, transfer.refused, self._journal)
            state = self._look_up_each(names | set(self.owned()) | self.journal_names() | set(unsure), refused)
        self.current = {
            name: held
            for name, held in state.items()
            if isinstance(held, Owned) or (held is not None and name in names)
        }

    def _look_up_each(self, names: set[dns.name.Name], refused: OnRefused) -> ZoneState:
        state: ZoneState = {}
        for name in sorted(names, key=forward_first):
            try:
                state[name] = self._nameserver.lookup(name)
            except DnsRejected as exc:
                refused(name, exc)  # this name only (the others are still read), or it raises
        return state

    def refresh(self, fqdn: dns.name.Name) -> None:
        """Look the name up on the server and remember what it holds."""
        self.remember(fqdn, self._nameserver.lookup(fqdn))

    def remember(self, fqdn: dns.name.Name, state: Current) -> None:
        if state is None:
            self.current.pop(fqdn, None)
        else:
            self.current[fqdn] = state

    def owned(self) -> dict[dns.name.Name, Owned]:
        return {name: state for name, state in self.current.items() if isinstance(state, Owned)}

    def journal_names(self) -> set[dns.name.Name]:
        """The journal's names inside the zones served now; others are reported once and left alone.

        A name outside every configured zone (the journal of an old
        ``--zone``) would be answered NOTZONE or REFUSED forever: it cannot
        be changed through these zones, so it is not tried at all.
        """
        if not self._journal:
            return set()
        zones = self._nameserver.target.zones
        inside = {name for name in self._journal.names if any(name.is_subdomain(zone) for zone in zones)}
        self._notices.journal_outside(set(self._journal.names) - inside)
        return inside

    # -- reverse zones -------------------------------------------------------------

    def owner_reverse_zones(self) -> tuple[dns.name.Name, ...] | None:
        """The reverse zones this owner's PTR records may be in (None, said, when the server cannot tell)."""
        journal = set(self._journal.names) if self._journal else set()
        try:
            owned: ZoneState = dict(self.owned()) or self._owned_in(self._zone, journal)
            return reversezones.of_owner(self._nameserver, owned, journal)
        except DnsError as exc:
            log.warning(
                "Cannot find the reverse zones of this owner's PTR records (%s); removing from %s only",
                exc,
                ", ".join(str(zone) for zone in self._nameserver.target.zones),
            )
            return None

    def _owned_in(self, zone: dns.name.Name, journal: set[dns.name.Name]) -> ZoneState:
        """This owner's names in ``zone``: by zone transfer, else by looking up the journal's names."""
        transfer = self._transfer_zone(zone)
        state = transfer.names
        if transfer.refused:
            state = {name: self._nameserver.lookup(name) for name in journal if name.is_subdomain(zone)}
        return {name: current for name, current in state.items() if isinstance(current, Owned)}
