"""What the reconciler tells the operator, each line said once per change of what it says (no I/O but the log).

A watcher runs for months: a line repeated per event or per retry would
bury the one that matters. Each kind of notice remembers what it last said
(per name, per container, or once per run) and speaks again only when that
changes. The books themselves (what waits, what is blocked) are kept
elsewhere; this module only decides what to say and when.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import dns.name

from dockernet.publish.plan import (
    MAX_RRSET,
    Change,
    Claim,
    Current,
    Delete,
    Foreign,
    Owned,
    choose_winner,
    forward_first,
    is_reverse_name,
    owned_by,
)
from dockernet.sync.journal import Journal

log = logging.getLogger("dockernet")


def describe_records(fqdn: dns.name.Name, owned: Owned) -> str:
    return "; ".join(f"{fqdn} {owned.ttl} {rdtype} {data}" for rdtype, data in owned.records)


class Notices:
    """The de-duplicated log lines of the reconciler and its books."""

    def __init__(self) -> None:
        #: the naming remarks logged per container, so each is said once per run of it, not per event
        self._remarks: dict[str, set[str]] = {}
        #: per name several containers want: (the holder, those waiting), as last said
        self._collisions: dict[dns.name.Name, tuple[str, tuple[str, ...]]] = {}
        #: shared names whose service has more replicas than they take: how many are left out, as last said
        self._crowded: dict[dns.name.Name, int] = {}
        #: journal entries outside the configured zones, already reported
        self._journal_outside: set[dns.name.Name] = set()
        self._said_no_transfer = False
        #: per name set aside: its verdict and containers, as last said
        self._set_aside: dict[dns.name.Name, str] = {}
        #: the failure last said while names wait ("": none)
        self._failure = ""

    # -- claims -------------------------------------------------------------------

    def remarks_of(self, container_id: str) -> Callable[[int, str], None]:
        """What ``claims_of`` says about one container's labels: each remark once per run of the container."""

        def say(level: int, text: str) -> None:
            said = self._remarks.setdefault(container_id, set())
            if text not in said:
                said.add(text)
                log.log(level, "%s", text)

        return say

    def container_gone(self, container_id: str) -> None:
        """A remark is said once per run of the container: it may be said again once it runs again."""
        self._remarks.pop(container_id, None)

    def collision(self, fqdn: dns.name.Name, claims: list[Claim], current: Current) -> None:
        """Say once which container holds a name several containers want (the rule is in plan.py)."""
        self.crowded(fqdn, claims)
        if len(claims) < 2 or isinstance(current, Foreign) or is_reverse_name(fqdn):  # Foreign: reported as Blocked
            self._collisions.pop(fqdn, None)
            return
        winner = choose_winner(claims, current)
        if winner is None:  # never with two claims or more; said for the type checker
            return
        waiting = tuple(sorted(claim.short_id for claim in claims if claim is not winner))
        if self._collisions.get(fqdn) != (winner.short_id, waiting):
            self._collisions[fqdn] = (winner.short_id, waiting)
            log.warning(
                "%s is wanted by %d containers: (%s) holds it; (%s) takes it when that one stops",
                fqdn,
                len(claims),
                winner.short_id,
                ", ".join(waiting),
            )

    def crowded(self, fqdn: dns.name.Name, claims: list[Claim]) -> None:
        """Say once when a service has more replicas than its shared name may hold (``plan.merge_replicas``)."""
        left_out = sum(claim.left_out for claim in claims)
        if left_out and self._crowded.get(fqdn) != left_out:
            log.warning(
                "%s holds the records of its %d oldest replicas per type, the most a shared name takes; "
                "%d more are published under their own names only",
                fqdn,
                MAX_RRSET,
                left_out,
            )
        if left_out:
            self._crowded[fqdn] = left_out
        else:
            self._crowded.pop(fqdn, None)

    # -- the zone and the journal ---------------------------------------------------

    @staticmethod
    def applied(change: Change) -> None:
        """The line of a change the server applied (every one is said)."""
        fqdn = change.fqdn
        if isinstance(change, Delete):
            log.info("Removed Docker DNS (%s): %s", change.old.short_id, describe_records(fqdn, change.old))
        else:
            log.info(
                "Updated Docker DNS (%s): %s", change.claim.short_id, describe_records(fqdn, owned_by(change.claim))
            )

    def no_transfer(self, zone: dns.name.Name, reason: str, journal: Journal | None) -> None:
        """Once per run: the zone cannot be swept, and, if the journal fails too, what that costs."""
        if self._said_no_transfer:
            return
        log.warning(
            "Zone transfer of %s is not allowed to this key%s: checking the names this watcher knows one by one "
            "(allowed the transfer, it sweeps the whole zone: 'dockernet dns check' says how)",
            zone,
            f" ({reason})" if reason else "",
        )
        if journal is not None and journal.error:  # neither way to find this owner's records
            log.error(
                "No zone transfer and the journal %s cannot be written (%s): records of containers that "
                "stop while this watcher is down will be left behind; give --state-dir a writable "
                "directory or allow this key to transfer the zone",
                journal.path,
                journal.error,
            )
        self._said_no_transfer = True

    def journal_outside(self, names: Iterable[dns.name.Name]) -> None:
        """Journal entries outside the zones served: each said once, and left alone."""
        outside = set(names) - self._journal_outside
        for name in sorted(outside, key=forward_first):
            log.warning(
                "The journal names %s, which lies outside the zones this watcher serves; not changing it "
                "(dns purge with that --zone removes old records)",
                name,
            )
        self._journal_outside |= outside

    @staticmethod
    def journal_state(journal_path: Path, error: str) -> None:
        """The journal started or stopped failing (the journal calls this once per change)."""
        if error:
            log.error(
                "Cannot write the journal %s (%s): DNS updates go on, but records of containers that stop "
                "while this watcher is down may be left behind unless the key may transfer the zone",
                journal_path,
                error,
            )
        else:
            log.info("The journal %s is written again", journal_path)

    # -- failures -------------------------------------------------------------------

    def set_aside(
        self, fqdn: dns.name.Name, verdict: str, containers: tuple[str, ...], reason: str, where: str
    ) -> None:
        """A name set aside: said once per verdict and set of containers."""
        said = f"{verdict} {containers}"
        if self._set_aside.get(fqdn) == said:
            return
        self._set_aside[fqdn] = said
        who = ", ".join(f"({short_id})" for short_id in containers) or "no running container"
        log.error(
            "%s was rejected by %s (%s) for container %s: %s; this name is set aside (no other name "
            "waits for it) until its container changes, SIGHUP or the next resync",
            fqdn,
            where,
            verdict,
            who,
            reason,
        )

    def name_done(self, fqdn: dns.name.Name) -> None:
        """The name went through: should it be set aside again, that is said again."""
        self._set_aside.pop(fqdn, None)

    def failing(self, message: str, pending: int, retry_cap: float) -> None:
        """Names wait for a failure: said when the failure is not the one last said."""
        if message != self._failure:
            log.error("%s (%d change(s) pending; retrying with backoff up to %g s)", message, pending, retry_cap)
            self._failure = message

    def succeeding(self, nothing_pending: bool) -> None:
        """An update went through: once nothing waits, the failure is over (and said so, if one was said)."""
        if not nothing_pending:
            return
        if self._failure:
            log.info("DNS updates succeed again; nothing pending")
        self._failure = ""
