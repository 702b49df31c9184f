"""Keep the zone in step with the containers: claims in, UPDATEs out.

``Reconciler`` holds two things: the **claims** of the running containers
(an index by name and by container, so one event only touches the names of
one container) and what it knows of the **current** state of those names in
the zone. Events and full resyncs both end in ``sync_name``, which plans one
name (``plan.plan_names``) and sends the change (``ddns.Nameserver``); a
full reconcile first sends what it can in batches of many names (each name
keeping its own prerequisites) and leaves the rest to ``sync_name``.

Failures are kept to the names they concern:

* **transient** (timeout, connection refused, SERVFAIL): the name stays in
  ``pending`` and is planned again from the newest claims, so its changes are
  never applied out of order. Its fate on the server is unknown (a timed-out
  UPDATE may still be applied), so it is *unsure*: looked up before it is
  planned again. One such failure holds up no other name; two in a row mean
  the server is down, and everything waits for the backoff. When the server
  answers again, a full reconcile follows shortly, to catch UPDATEs that
  landed after their answers were lost. A SERVFAIL is an answer, so it is
  looked into first: while the zone's probe still passes, the failure is
  that update's (an RRset above the server's limit), and only that name
  waits, with backoff; no other name is held up.
* **rejected for that name** (REFUSED or NOTAUTH while the zone still accepts
  this key's probe, NOTZONE, FORMERR): the name is *set aside* alone, logged
  once with the server's verdict and the containers that want it, counted in
  the metrics and shown in ``/healthz`` as degraded. It is tried again only
  when something about it changes: an event of its container, SIGHUP, or the
  periodic resync.
* **rejected for the key or the zone** (a TSIG error, or a refusal the zone
  probe confirms): no update can succeed; everything waits, with backoff.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Callable, Iterable

import dns.name
import dns.reversename

from dockernet.rfc2136 import reversezones
from dockernet.sync.backlog import Backlog
from dockernet.publish.claims import RecordPolicy, claims_of
from dockernet.ddns import Nameserver, Outcome
from dockernet.engine.dockerapi import ContainerInfo
from dockernet.errors import KEY_VERDICTS, DnsError, DnsRejected, DnsServerFailure, DnsTransient, NameContended
from dockernet.sync.claimindex import ClaimIndex
from dockernet.sync.journal import Journal
from dockernet.publish.plan import (
    Change, Claim, Current, Delete, Foreign, Owned, choose_winner, current_after, forward_first, is_reverse_name,
    is_srv_name, MAX_RRSET, merge_replicas, plan_names, publishable,
)
from dockernet.sync.retries import Retries, SetAside
from dockernet.watch.supervision import Health, NullMetrics

#: ``guard(doomed, owned)`` may veto the deletions a full reconcile found (see ``Reconciler.full``)
DeletionGuard = Callable[[set, int], bool]

#: rcodes that may concern one name only; REFUSED and NOTAUTH are checked against the zone first
_NAME_VERDICTS = frozenset({"REFUSED", "NOTAUTH", "NOTZONE", "FORMERR"})
#: what a name-level verdict means, for the log line that sets the name aside
_WHY_SET_ASIDE = {
    "REFUSED": "the server takes this key's updates to the zone but refuses this name "
               "(an update-policy rule, or check-names)",
    "NOTAUTH": "the server takes this key's updates to the zone but not for this name",
    "NOTZONE": "the name lies outside the zone the update was sent to",
    "FORMERR": "the server could not parse the update of this name",
}
#: seconds between looks at the SOA serial while names are held by others (a release is seen this fast)
BLOCKED_POLL = 0.25
#: every blocked name is looked at again at least this often, even when the serial does not move
BLOCKED_RECHECK_CAP = 60.0
#: names looked up per check, at most: the cost of watching stays bounded however many names are blocked
BLOCKED_BATCH = 64

log = logging.getLogger("dockernet")


def describe_records(fqdn: dns.name.Name, owned: Owned) -> str:
    return "; ".join(f"{fqdn} {owned.ttl} {rdtype} {data}" for rdtype, data in owned.records)


class Reconciler:
    """Keeps the claims and what the zone holds; plans, applies, and hands failures to ``Retries``."""

    def __init__(self, policy: RecordPolicy, nameserver: Nameserver, clock: Callable[[], float] = time.monotonic,
                 retry_first: float = 0.5, retry_cap: float = 15.0, journal: Journal | None = None,
                 metrics: NullMetrics | None = None, health: Health | None = None):
        self.policy = policy
        self.nameserver = nameserver
        self.clock = clock
        self.journal = journal
        self.metrics = metrics or NullMetrics()
        self.health = health or Health()
        self.retries = Retries(clock, self.metrics, self.health, retry_first, retry_cap)
        #: changes applied since start; the watcher reads it to time events
        self.applied = 0
        #: a full reconcile is due when the retry is (the last one failed, or an outage just ended)
        self.needs_full = False
        self.index = ClaimIndex()
        self.current: dict[dns.name.Name, Current] = {}
        #: journal entries outside the configured zones, already reported
        self._foreign_journal: set[dns.name.Name] = set()
        self._warned_no_transfer = False
        #: the last naming remark logged per container, so each is said once, not per event
        self._remarks: dict[str, set[str]] = {}
        self._collisions: dict[dns.name.Name, tuple[str, tuple[str, ...]]] = {}
        #: shared names whose service has more replicas than they take: how many are left out, as last said
        self._crowded: dict[dns.name.Name, int] = {}
        #: names waiting to be synced, served in turn (see backlog.py): an event's names, and the SRV
        #: names and PTRs to plan again once the name they hang on changed hands
        self.backlog = Backlog()
        #: the current wait between looks at blocked names while the server does not answer them
        self._blocked_wait = 0.0
        #: names a running container wants that someone else holds: watched, and taken once released
        self.blocked: dict[dns.name.Name, Foreign] = {}
        #: per blocked name: (when to look again even if the serial did not move, the current wait)
        self._blocked_recheck: dict[dns.name.Name, tuple[float, float]] = {}
        self._serials: dict[dns.name.Name, int | None] = {}
        self._next_blocked_check = 0.0
        if journal is not None:
            journal.on_state = self._journal_state
            journal.on_failure = self.metrics.journal_failed
            self.health.journal_error = journal.error  # it may fail from the start (a read-only --state-dir)

    @property
    def pending(self) -> set[dns.name.Name]:
        return self.retries.pending

    @property
    def unsure(self) -> set[dns.name.Name]:
        return self.retries.unsure

    @property
    def set_aside(self) -> dict:
        return self.retries.set_aside

    def waiting(self) -> int:
        """How many names events asked for wait in the backlog (the watch loop yields to events while any do)."""
        return len(self.backlog)

    def claims_of_container(self, container_id: str) -> list[Claim]:
        """What this container asks for now, as the last reconcile saw it (``topology``)."""
        return self.index.claims_of_container(container_id)

    def _journal_state(self, error: str) -> None:
        """The journal started or stopped failing: said once per change, and shown in /healthz."""
        self.health.journal_error = error
        if error:
            log.error("Cannot write the journal %s (%s): DNS updates go on, but records of containers that stop "
                      "while this watcher is down may be left behind unless the key may transfer the zone",
                      self.journal.path, error)
        else:
            log.info("The journal %s is written again", self.journal.path)

    # -- inputs ---------------------------------------------------------------

    def container_changed(self, container_id: str, info: ContainerInfo | None,
                          interrupt: Callable[[], bool] | None = None) -> bool:
        """One container started, stopped, went or changed: sync only its names.

        With ``interrupt``, its names join the backlog and are synced in turn
        with other containers' (``drain``); True when nothing is left waiting.
        """
        claims = self._claims_of(info) if info is not None else []
        if info is None or not info.running:
            self._remarks.pop(container_id, None)  # a remark is said once per run of the container
        names = self.index.set_container(container_id, claims)
        self.retries.release(names)  # its container changed: a set-aside name may be tried again
        if interrupt is None:
            return self.sync(names)
        self.backlog.add(container_id, names)
        return self.drain(interrupt)

    def drain(self, interrupt: Callable[[], bool] = lambda: False) -> bool:
        """Sync the backlog one name at a time, stopping after any name once ``interrupt()`` says events wait.

        True when the backlog is empty and every name synced was done.
        """
        ok = True
        while self.backlog:
            fqdn, verified = self.backlog.pop()
            ok = self.sync_name(fqdn, verified) and ok
            if self.backlog and interrupt():
                return False
        return ok

    def _claims_of(self, info: ContainerInfo) -> list[Claim]:
        def say(level: int, text: str) -> None:
            said = self._remarks.setdefault(info.id, set())
            if text not in said:
                said.add(text)
                log.log(level, "%s", text)

        return claims_of(info, self.policy, say)

    def load(self, containers: list[ContainerInfo], transferred: Callable[[], dict | None] | None = None,
             ) -> set[dns.name.Name]:
        """Index every running container's claims and read the zones' truth; returns the names in play.

        The truth comes from a zone transfer where the key may make one;
        otherwise from one query per name this watcher claims, knows, or
        finds in its journal. Raises ``DnsError`` when the server fails.
        ``transferred`` gives the result of a transfer of everything that a
        caller started earlier (``Nameserver.transfer(everything=True)``).
        """
        names = self.index.replace_all({info.id: self._claims_of(info) for info in containers})
        zone_state = transferred() if transferred else self.nameserver.transfer(wanted=names)
        if zone_state is None:
            self._warn_no_transfer()
            zone_state = {}
            for name in sorted(names | set(self.owned()) | self._journal_names() | self.unsure, key=forward_first):
                try:
                    zone_state[name] = self.nameserver.lookup(name)
                except DnsRejected as exc:
                    if not self._concerns_name_only(name, exc):
                        raise  # the key or the zone: nothing can be read
                    self._set_aside(name, exc)  # this name only: the others are still read
        self.unsure.clear()  # every name in play was just read from the server
        # keep our own names, and others' only where a container wants the name: a big shared
        # zone must not make the daemon big (an unknown taken name fails its prerequisite anyway)
        self.current = {name: state for name, state in zone_state.items()
                        if isinstance(state, Owned) or (state is not None and name in names)}
        self.health.dns_reached()
        return names | set(self.owned())

    def preview(self, containers: list[ContainerInfo]) -> list[Change]:
        """The changes a full reconcile would send, sending nothing (``dns sync --dry-run``)."""
        return list(plan_names(self.load(containers), self.index.claims_for, self.current).changes)

    def full(self, containers: list[ContainerInfo], guard: DeletionGuard | None = None) -> bool:
        """Start over from every running container and the zones' truth (see ``load``).

        ``guard`` sees the names whose records would be deleted (no running
        container claims them) and may hold them back. With no containers at
        all this removes everything this owner holds (``dns purge``). Names
        set aside are tried once more, each alone (a resync is a change).
        """
        retry = set(self.set_aside)
        self.retries.release(retry)
        try:
            names = self.load(containers)
        except DnsError as exc:
            self.needs_full = True
            self.retries.server_failed(self.index.names(), str(exc))
            return False
        self.needs_full = False
        owned = set(self.owned())
        if self.journal:
            self.journal.rewrite({name: self.current[name].short_id for name in owned})
        doomed = {name for name in owned if not publishable(name, self.index.claims_for(name), self.current)}
        if doomed and guard is not None and not guard(doomed, len(owned)):
            names -= doomed
        for name in names:  # the batches below bypass sync_name, which says it per event
            self._note_crowded(name, self.index.claims_for(name))
        names -= self._send_in_batches(names - retry - set(self.set_aside))  # a rejected name fails a whole batch
        ok = self.sync(names, verified=True)
        if not self.pending:  # names set aside are reported on their own; they do not make a resync stale
            self.metrics.reconciled()
        return ok

    def purge(self) -> bool:
        """Remove every record this owner wrote, PTRs included, and nothing else.

        The one removal path of ``dns purge`` and ``--cleanup-on-exit``: the
        reverse zones are found first (``find_owner_reverse_zones``), then a
        full reconcile with no containers deletes each owned name, every
        delete carrying this owner's mark as its prerequisite.
        """
        self.find_owner_reverse_zones()
        return self.full([])

    def find_owner_reverse_zones(self) -> None:
        """Add the reverse zones this owner's PTR records may be in, whether or not --reverse-zone named them."""
        journal = set(self.journal.names) if self.journal else set()
        try:
            owned = self.owned() or self._read_owned(self.policy.zone, journal)
            zones = reversezones.of_owner(self.nameserver, owned, journal)
        except DnsError as exc:
            log.warning("Cannot find the reverse zones of this owner's PTR records (%s); removing from %s only",
                        exc, ", ".join(str(zone) for zone in self.nameserver.target.zones))
            return
        self.set_reverse_zones(zones)

    def _read_owned(self, zone: dns.name.Name, journal: set[dns.name.Name]) -> dict[dns.name.Name, Current]:
        """This owner's names in ``zone``: by zone transfer, else by looking up the journal's names."""
        state = self.nameserver.transfer_zone(zone)
        if state is None:
            state = {name: self.nameserver.lookup(name) for name in journal if name.is_subdomain(zone)}
        return {name: current for name, current in state.items() if isinstance(current, Owned)}

    def set_reverse_zones(self, zones: tuple[dns.name.Name, ...]) -> None:
        """Publish (and look for) PTR records in these reverse zones from now on."""
        self.policy = replace(self.policy, reverse_zones=zones)
        self.nameserver.use_reverse_zones(zones)

    def _journal_names(self) -> set[dns.name.Name]:
        """The journal's names inside the zones served now; others are reported once and left alone.

        A name outside every configured zone (the journal of an old
        ``--zone``) would be answered NOTZONE or REFUSED forever: it cannot
        be changed through these zones, so it is not tried at all.
        """
        if not self.journal:
            return set()
        zones = self.nameserver.target.zones
        inside = {name for name in self.journal.names if any(name.is_subdomain(zone) for zone in zones)}
        outside = set(self.journal.names) - inside - self._foreign_journal
        for name in sorted(outside, key=forward_first):
            log.warning("The journal names %s, which lies outside the zones this watcher serves; not changing it "
                        "(dns purge with that --zone removes old records)", name)
        self._foreign_journal |= outside
        return inside

    def owned(self) -> dict[dns.name.Name, Owned]:
        return {name: state for name, state in self.current.items() if isinstance(state, Owned)}

    def _warn_no_transfer(self) -> None:
        if not self._warned_no_transfer:
            reason = getattr(self.nameserver, "no_transfer_reason", "")
            log.warning(
                "Zone transfer of %s is not allowed to this key%s: checking the names this watcher knows one by one "
                "(allow-transfer in named.conf lets it sweep the whole zone)",
                self.policy.zone, f" ({reason})" if reason else "",
            )
            if self.journal is not None and self.journal.error:  # neither way to find this owner's records
                log.error("No zone transfer and the journal %s cannot be written (%s): records of containers that "
                          "stop while this watcher is down will be left behind; give --state-dir a writable "
                          "directory or allow this key to transfer the zone", self.journal.path, self.journal.error)
            self._warned_no_transfer = True

    def _send_in_batches(self, names: set[dns.name.Name]) -> set[dns.name.Name]:
        """Plan many names and send them in few UPDATEs; returns the names done.

        Address names go first; SRV names, then PTRs, are planned once the
        names they hang on are in (``plan.holds_parent``). What a batch could
        not do is left to the name-by-name path, which finds out which name
        was not as planned.
        """
        if len(names) < 2 or self.pending:
            return set()
        done: set[dns.name.Name] = set()
        srv = {n for n in names if is_srv_name(n)}
        reverse = {n for n in names if is_reverse_name(n)}
        for group in (names - srv - reverse, srv, reverse):
            changes = plan_names(group, self.index.claims_for, self.current).changes
            self._journal_before(changes)
            applied = self.nameserver.apply_batched(changes)
            if applied.lost:
                self.retries.transient_batch(change.fqdn for change in applied.lost)
            if applied.done:
                self.health.dns_reached()
            for change in applied.done:
                self._applied(change)
                done.add(change.fqdn)
        self.backlog.discard(done)  # an SRV name or PTR sent in a later batch needs no second look
        return done

    def _journal_before(self, changes: Iterable[Change]) -> None:
        """Journal the names about to be written, before the UPDATE is sent (see journal.py)."""
        if self.journal:
            for change in changes:
                if not isinstance(change, Delete):
                    self.journal.add(change.fqdn, change.claim.short_id)

    # -- applying -------------------------------------------------------------

    def sync(self, names: Iterable[dns.name.Name], verified: bool = False,
             interrupt: Callable[[], bool] = lambda: False) -> bool:
        """Bring each name in line, then the backlog; True when every one is done (none pending or set aside).

        Names are synced address names first, so an SRV name or PTR among
        them is planned once the name it hangs on is in; the backlog then
        holds only what hangs on names that changed hands elsewhere, drained
        until ``interrupt()`` says events wait.
        """
        names = set(names)
        ok = True
        for fqdn in sorted(names, key=forward_first):
            ok = self.sync_name(fqdn, verified) and ok
        self.backlog.discard(names)
        return self.drain(interrupt) and ok

    def sync_name(self, fqdn: dns.name.Name, verified: bool = False) -> bool:
        """Bring one name in line; False when it is left pending or set aside."""
        if self.retries.waiting(fqdn):
            return False
        try:
            self._sync_name(fqdn, verified)
        except DnsError as exc:
            self._name_failed(fqdn, exc)
            return False
        if self.retries.succeeded(fqdn):
            # an outage ended: UPDATEs whose answers were lost may land even now; look at the whole zone soon
            self.needs_full = True
            self.retries.retry_at = self.clock() + 2 * self.nameserver.target.timeout
        return True

    def _note_collision(self, fqdn: dns.name.Name, current: Current) -> None:
        """Say once which container holds a name several containers want (the rule is in plan.py)."""
        claims = self.index.claims_for(fqdn)
        self._note_crowded(fqdn, claims)
        if len(claims) < 2 or isinstance(current, Foreign) or is_reverse_name(fqdn):  # Foreign: reported as Blocked
            self._collisions.pop(fqdn, None)
            return
        winner = choose_winner(claims, current)
        waiting = tuple(sorted(claim.short_id for claim in claims if claim is not winner))
        if self._collisions.get(fqdn) != (winner.short_id, waiting):
            self._collisions[fqdn] = (winner.short_id, waiting)
            log.warning("%s is wanted by %d containers: (%s) holds it; (%s) takes it when that one stops",
                        fqdn, len(claims), winner.short_id, ", ".join(waiting))

    def _note_crowded(self, fqdn: dns.name.Name, claims: list[Claim]) -> None:
        """Say once when a service has more replicas than its shared name may hold (``plan.merge_replicas``)."""
        left_out = sum(claim.left_out for claim in claims)
        if left_out and self._crowded.get(fqdn) != left_out:
            log.warning("%s holds the records of its %d oldest replicas per type, the most a shared name takes; "
                        "%d more are published under their own names only", fqdn, MAX_RRSET, left_out)
        if left_out:
            self._crowded[fqdn] = left_out
        else:
            self._crowded.pop(fqdn, None)

    def _sync_name(self, fqdn: dns.name.Name, verified: bool) -> None:
        """Plan the name, send its change, and on a failed prerequisite look and plan again (three times)."""
        if fqdn in self.unsure:  # the last UPDATE got no answer: it may have been applied after all
            self._remember(fqdn, self.nameserver.lookup(fqdn))
            self.unsure.discard(fqdn)
            verified = True
        for _attempt in range(3):
            self._note_collision(fqdn, self.current.get(fqdn))
            step = plan_names([fqdn], self.index.claims_for, self.current)
            if step.blocked and not verified:  # make sure before saying so: look at the name once
                self._remember(fqdn, self.nameserver.lookup(fqdn))
                verified = True
                continue
            self._note_blocked(fqdn, step.blocked)
            if not step.changes:
                return
            change = step.changes[0]
            self._journal_before([change])
            try:
                outcome = self.nameserver.send(change)
            except DnsTransient:
                self.unsure.add(fqdn)
                raise
            self.metrics.update_done("NOERROR" if outcome is Outcome.APPLIED else "PREREQUISITE_FAILED")
            self.health.dns_reached()
            if outcome is Outcome.APPLIED:
                self._applied(change)
                return
            # a prerequisite failed: the zone is not as we thought; look and plan again
            self._remember(fqdn, self.nameserver.lookup(fqdn))
            verified = True
        raise NameContended(f"{fqdn} kept changing on the server while dockernet updated it; trying again")

    def _note_blocked(self, fqdn: dns.name.Name, blocked) -> None:
        """Keep the set of names held by others up to date; say so once per holder, not per look."""
        if not blocked:
            if self.blocked.pop(fqdn, None) is not None:
                self._blocked_recheck.pop(fqdn, None)
                self.metrics.blocked(len(self.blocked))
                if not self.blocked:
                    self._blocked_wait = 0.0  # a name blocked later starts at the normal pace
            return
        holder = blocked[0].holder
        if self.blocked.get(fqdn) != holder:
            log.warning("%s is %s; not taking it for container (%s) while it is held", fqdn, holder.describe(),
                        blocked[0].claim.short_id)
            self._blocked_recheck[fqdn] = (self.clock() + 1.0, 1.0)
        self.blocked[fqdn] = holder
        self.metrics.blocked(len(self.blocked))

    def blocked_due_in(self) -> float | None:
        """Seconds until the names held by others should be looked at (None: none is)."""
        if not self.blocked:
            return None
        return max(0.0, self._next_blocked_check - self.clock())

    def check_blocked(self, interrupt: Callable[[], bool] = lambda: False) -> None:
        """Take the names held by others as soon as they are released, without waiting for a resync.

        One SOA query per zone tells whether anything changed; only then, or
        when a name's own backoff (1 s doubling to a minute) is up, is that
        name looked up, at most ``BLOCKED_BATCH`` per check. A released name
        is synced at once; one still held waits for the next change.
        """
        now = self.clock()
        self._next_blocked_check = now + BLOCKED_POLL
        try:
            self._check_blocked(now, interrupt)
        except DnsTransient as exc:
            # no answer: wait for the server like every update does, not one timeout per turn of the loop
            self._blocked_wait = min(self.retries.retry_cap, max(self.retries.retry_first, self._blocked_wait * 2))
            self._next_blocked_check = self.clock() + self._blocked_wait
            raise DnsTransient(f"{exc}; looking at names held by others again in {self._blocked_wait:g} s") from None
        self._blocked_wait = 0.0

    def _check_blocked(self, now: float, interrupt: Callable[[], bool]) -> None:
        moved = set()
        for zone in {self.nameserver.target.zone_of(name) for name in self.blocked}:
            serial = self.nameserver.serial(zone)
            self.metrics.blocked_checked("serial")
            if serial is None or serial != self._serials.get(zone):
                moved.add(zone)
            self._serials[zone] = serial
        due = [name for name in self.blocked if self.nameserver.target.zone_of(name) in moved
               or self._blocked_recheck.get(name, (0.0, 0.0))[0] <= now]
        for name in sorted(due, key=lambda n: self._blocked_recheck.get(n, (0.0, 0.0))[0])[:BLOCKED_BATCH]:
            wait = self._blocked_recheck.get(name, (0.0, 1.0))[1]
            self._blocked_recheck[name] = (now + wait, min(wait * 2, BLOCKED_RECHECK_CAP))
            state = self.nameserver.lookup(name)
            self.metrics.blocked_checked("name")
            if state != self.blocked.get(name):
                log.info("%s is no longer %s; syncing it", name, self.blocked[name].describe())
                self._remember(name, state)
                self.sync([name], verified=True, interrupt=interrupt)

    def _applied(self, change: Change) -> None:
        """Book-keeping and the log line for a change the server applied."""
        fqdn = change.fqdn
        self.applied += 1
        self._remember(fqdn, current_after(change))
        if not isinstance(change, Delete) and not is_reverse_name(fqdn) and not is_srv_name(fqdn):
            # the new holder's SRV and PTR records may now be published (see plan.holds_parent)
            for container_id, derived in self.index.hanging_on(fqdn).items():
                self.backlog.add(container_id, derived)
        if isinstance(change, Delete):
            if self.journal:
                self.journal.remove(fqdn)
            log.info("Removed Docker DNS (%s): %s", change.old.short_id, describe_records(fqdn, change.old))
        else:
            log.info("Updated Docker DNS (%s): %s", change.claim.short_id, describe_records(fqdn, current_after(change)))

    def _remember(self, fqdn: dns.name.Name, state: Current) -> None:
        if state is None:
            self.current.pop(fqdn, None)
        else:
            self.current[fqdn] = state

    # -- failures -------------------------------------------------------------

    def _name_failed(self, fqdn: dns.name.Name, exc: DnsError) -> None:
        """Decide whom a failure concerns (see the module docstring); ``Retries`` keeps the books."""
        code = getattr(exc, "code", "") or ("CONTENDED" if isinstance(exc, NameContended) else "UNREACHABLE")
        self.metrics.update_failed(code)
        if isinstance(exc, NameContended):
            self.retries.contended(fqdn, str(exc))
        elif isinstance(exc, DnsRejected) and self._concerns_name_only(fqdn, exc):
            self._set_aside(fqdn, exc)
        elif isinstance(exc, DnsServerFailure) and self._zone_takes_updates(fqdn):
            self.retries.name_failed(fqdn, f"{exc}; the zone takes other updates, so only {fqdn} waits")
        elif isinstance(exc, DnsTransient):
            self.retries.transient(fqdn, str(exc))
        else:
            self.retries.server_failed([fqdn], str(exc))

    def _concerns_name_only(self, fqdn: dns.name.Name, exc: DnsRejected) -> bool:
        """Whether a rejection is about this name, not the key or zone: look before concluding.

        REFUSED and NOTAUTH are what a server says both to a key it does not
        let into the zone and to one name its policy forbids; the probe, an
        UPDATE of the zone that can change nothing, tells the two apart.
        """
        if exc.code in KEY_VERDICTS or exc.code not in _NAME_VERDICTS:
            return False
        if exc.code in ("REFUSED", "NOTAUTH"):
            try:
                self.nameserver.probe_zone(self.nameserver.target.zone_of(fqdn))
            except DnsError:
                return False
        return True

    def _zone_takes_updates(self, fqdn: dns.name.Name) -> bool:
        """Whether the server processes updates of the name's zone: a SERVFAIL for one name is not concluded
        to be the server's until the zone's probe (an UPDATE that can change nothing) fails too."""
        try:
            self.nameserver.probe_zone(self.nameserver.target.zone_of(fqdn))
        except DnsError:
            return False
        return True

    def _set_aside(self, fqdn: dns.name.Name, exc: DnsRejected) -> None:
        containers = tuple(sorted({claim.short_id for claim in self.index.claims_for(fqdn)}))
        if not containers and isinstance(self.current.get(fqdn), Owned):
            containers = (self.current[fqdn].short_id,)
        entry = SetAside(exc.code, _WHY_SET_ASIDE.get(exc.code, exc.message), containers)
        self.retries.put_aside(fqdn, entry, self.nameserver.target.where)

    def server_down(self) -> bool:
        """Whether the server is taken for down (two failures in a row): everything waits for the backoff."""
        return self.retries.server_down

    def mend_journal(self) -> None:
        """Rewrite a journal that missed lines, once it can be written (journal.py); at most once a second."""
        if self.journal is not None:
            self.journal.mend()

    def retry_due_in(self) -> float | None:
        """Seconds until pending names, or a full reconcile, should be tried (None: nothing waits)."""
        return self.retries.due_in(also_waiting=self.needs_full)

    def retry_pending(self, interrupt: Callable[[], bool] = lambda: False) -> bool:
        """Try the pending names again, then the backlog until ``interrupt()``; stops at the first failure while
        the server is down."""
        ok = True
        for fqdn in self.retries.in_retry_order():
            if not self.sync_name(fqdn, verified=False):
                ok = False
                if self.retries.server_down:
                    return False
        return self.drain(interrupt) and ok  # what hangs on the names just done, among the rest
